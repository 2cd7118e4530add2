//! The Dong'e scheme over months: a deterministic generator of Dong'e-format months
//! (`generate.rs`) and an independent exact computation (`exact.rs`, `BigRational`) of the
//! monthly rules of `policies/dong-e-monthly.policy` and of the period figures of
//! `policies/dong-e-annual.policy`, shared by `tests/dong_e_annual.rs`.

#![allow(dead_code)]

pub mod exact;
pub mod generate;

/// The towns and streets (镇街), in registry order (the `units` block of both policies).
pub const TOWNS: &[&str] = &[
    "鱼山镇",
    "姚寨镇",
    "姜楼镇",
    "大桥镇",
    "陈集镇",
    "铜城街道",
    "高集镇",
    "刘集镇",
    "新城街道",
    "牛角店镇",
];

/// The county departments (县直), in registry order.
pub const DEPARTMENTS: &[&str] = &[
    "东阿交警大队",
    "县市场监督管理局",
    "县公安局",
    "县交通运输局",
    "县行政执法局",
    "东阿吉电（综合执法局）",
    "县住建局",
    "县教育体育局",
    "县水利局",
    "县人社局",
    "县行政审批服务局",
    "东阿公路事业发展中心",
    "县文化旅游局",
    "县税务局",
    "县医疗保障局",
    "县民政局",
    "县退役军人事务局",
    "经济开发区",
    "东阿生态环境分局",
    "县供电公司",
    "县东财公司",
    "县卫生健康局",
    "县农业农村局",
    "县自然资源规划局",
    "县工信局",
    "县住房公积金",
    "县工业公司",
    "县应急管理局",
    "县司法局",
    "东阿黄河河务局",
    "县烟草公司",
    "县残联",
    "县消防大队",
    "县融媒体中心",
    "县商务投资促进局",
    "县发改局",
    "县人民武装部",
    "县财政局",
];

/// Old names in the data and the units they resolve to.
pub const ALIASES: &[(&str, &str)] = &[("新城办事处", "新城街道"), ("铜城办事处", "铜城街道")];

pub const TOWN: &str = "镇街";
pub const DEPARTMENT: &str = "县直";

/// Every unit with its group, in registry order.
pub fn registry() -> Vec<(&'static str, &'static str)> {
    TOWNS
        .iter()
        .map(|u| (TOWN, *u))
        .chain(DEPARTMENTS.iter().map(|u| (DEPARTMENT, *u)))
        .collect()
}

/// A unit name as written in the data, resolved through the aliases.
pub fn resolve(name: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map(|(_, unit)| *unit)
        .unwrap_or(name)
}

/// A month: year and month number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ym {
    pub year: i32,
    pub month: u32,
}

impl Ym {
    pub fn new(year: i32, month: u32) -> Ym {
        assert!((1..=12).contains(&month));
        Ym { year, month }
    }

    /// `2023-03`.
    pub fn label(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    pub fn next(self) -> Ym {
        if self.month == 12 {
            Ym::new(self.year + 1, 1)
        } else {
            Ym::new(self.year, self.month + 1)
        }
    }

    pub fn prev(self) -> Ym {
        if self.month == 1 {
            Ym::new(self.year - 1, 12)
        } else {
            Ym::new(self.year, self.month - 1)
        }
    }

    /// The same month a year earlier.
    pub fn last_year(self) -> Ym {
        Ym::new(self.year - 1, self.month)
    }

    /// Days in the month.
    pub fn days(self) -> u32 {
        let next = self.next();
        let first = chrono::NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap();
        let after = chrono::NaiveDate::from_ymd_opt(next.year, next.month, 1).unwrap();
        (after - first).num_days() as u32
    }

    /// `from ..= to`, in order.
    pub fn range(from: Ym, to: Ym) -> Vec<Ym> {
        let mut v = Vec::new();
        let mut m = from;
        while m <= to {
            v.push(m);
            m = m.next();
        }
        v
    }
}

/// The generated months: 2022-01 … 2023-12.
pub fn generated_months() -> Vec<Ym> {
    Ym::range(Ym::new(2022, 1), Ym::new(2023, 12))
}

#[path = "../common/rng.rs"]
mod rng;
pub use rng::Rng;
