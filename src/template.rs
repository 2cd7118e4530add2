//! The template environment shared by the checker (which checks templates) and the
//! evaluator (which renders them), so both agree on what a template may use.

use minijinja::{Environment, UndefinedBehavior};

/// Values every template can read besides the policy's definitions.
pub const CONTEXT_NAMES: &[&str] = &["year", "month"];

/// A template environment: strict about undefined values, with fuel and a recursion limit
/// so that a runaway template fails quickly.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(1_000_000));
    env.set_recursion_limit(64);
    env
}

/// Whether `name` is a global of the environment (a function or value templates may call).
pub fn is_global(env: &Environment<'_>, name: &str) -> bool {
    env.globals().any(|(n, _)| n == name)
}
