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

#[path = "../common/rng.rs"]
mod rng;
pub use rng::Rng;
