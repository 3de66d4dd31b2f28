//! (placeholder until the deadline engine lands)
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Region { EnglandAndWales, Scotland, NorthernIreland }
impl std::str::FromStr for Region {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s { "england-and-wales" => Ok(Region::EnglandAndWales), "scotland" => Ok(Region::Scotland), "northern-ireland" => Ok(Region::NorthernIreland), _ => Err(format!("unknown region {s:?}")) }
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SarMonthRule { #[default] Ico, StrictBeginningWith }
