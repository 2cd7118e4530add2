//! The second real scheme, `policies/city-monthly.policy`: a deterministic data generator and
//! an independent exact computation of every figure (`num_rational::BigRational`), shared by
//! `tests/city_scheme.rs`.

#![allow(dead_code)]

pub mod calendar;
pub mod exact;
pub mod generate;

/// The units of the fictional 示例市, by group, in registry order.
pub const GROUPS: &[(&str, &[&str])] = &[
    (
        "县（市、区）",
        &[
            "东城区",
            "西城区",
            "临河县",
            "清平县",
            "高唐县",
            "南山县",
            "北川市",
            "河阳县",
        ],
    ),
    (
        "功能区（开发区）",
        &["经济技术开发区", "高新技术产业开发区", "旅游度假区"],
    ),
    (
        "市直部门",
        &[
            "市公安局",
            "市住房和城乡建设局",
            "市市场监督管理局",
            "市交通运输局",
            "市城市管理局",
            "市人力资源和社会保障局",
            "市教育局",
            "市卫生健康委员会",
            "市自然资源和规划局",
            "市生态环境局",
            "市水利局",
            "市农业农村局",
            "市民政局",
            "市医疗保障局",
            "市文化和旅游局",
            "市应急管理局",
            "市商务局",
            "市司法局",
            "市退役军人事务局",
            "市行政审批服务局",
        ],
    ),
    (
        "公共服务企业",
        &[
            "市供电公司",
            "市自来水公司",
            "市燃气公司",
            "市公交公司",
            "中国移动示例分公司",
        ],
    ),
];

/// splitmix64: a small, deterministic generator (no `rand`).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// In `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `permille / 1000`.
    pub fn chance(&mut self, permille: u64) -> bool {
        self.below(1000) < permille
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}
