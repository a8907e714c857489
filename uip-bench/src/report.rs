//! The result rows, the printed table and `target/uip-bench.json`.

use std::path::Path;

use serde_json::{json, Map, Value};

/// What a row is held against.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// `value <= x`.
    AtMost(f64),
    /// `value >= x`.
    AtLeast(f64),
    /// `ratio <= x`.
    RatioAtMost(f64),
    /// `ratio >= x`.
    RatioAtLeast(f64),
}

impl Target {
    fn describe(self, unit: &str) -> String {
        match self {
            Target::AtMost(x) => format!("<= {} {unit}", fmt_num(x)),
            Target::AtLeast(x) => format!(">= {} {unit}", fmt_num(x)),
            Target::RatioAtMost(x) => format!("ratio <= {x}"),
            Target::RatioAtLeast(x) => format!("ratio >= {x}"),
        }
    }
}

/// One measured quantity, optionally against a baseline measured in the same run.
#[derive(Clone, Debug)]
pub struct Row {
    pub name: String,
    pub unit: String,
    pub value: f64,
    pub baseline: Option<(String, f64)>,
    pub target: Option<Target>,
    pub note: Option<String>,
}

impl Row {
    pub fn new(name: impl Into<String>, unit: impl Into<String>, value: f64) -> Row {
        Row { name: name.into(), unit: unit.into(), value, baseline: None, target: None, note: None }
    }

    pub fn baseline(mut self, name: impl Into<String>, value: f64) -> Row {
        self.baseline = Some((name.into(), value));
        self
    }

    pub fn target(mut self, t: Target) -> Row {
        self.target = Some(t);
        self
    }

    pub fn note(mut self, n: impl Into<String>) -> Row {
        self.note = Some(n.into());
        self
    }

    /// `value / baseline_value`.
    pub fn ratio(&self) -> Option<f64> {
        self.baseline.as_ref().map(|(_, b)| if *b == 0.0 { f64::INFINITY } else { self.value / b })
    }

    /// Whether the target is met; `None` without a target.
    pub fn met(&self) -> Option<bool> {
        let t = self.target?;
        Some(match t {
            Target::AtMost(x) => self.value <= x,
            Target::AtLeast(x) => self.value >= x,
            Target::RatioAtMost(x) => self.ratio().is_some_and(|r| r <= x),
            Target::RatioAtLeast(x) => self.ratio().is_some_and(|r| r >= x),
        })
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("unit".into(), json!(self.unit));
        m.insert("value".into(), json!(round(self.value)));
        if let Some((name, value)) = &self.baseline {
            m.insert("baseline_name".into(), json!(name));
            m.insert("baseline_value".into(), json!(round(*value)));
        }
        if let Some(r) = self.ratio() {
            m.insert("ratio".into(), json!(round(r)));
        }
        Value::Object(m)
    }
}

fn round(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1e4).round() / 1e4
    } else {
        x
    }
}

/// A number with a sensible number of digits for the table.
pub fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if a >= 1e5 {
        format!("{x:.0}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// The results as a Markdown table (printed, and pasted into BENCHMARKS.md).
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | value | unit | baseline | baseline value | ratio | target | met |\n|---|---:|---|---|---:|---:|---|---|\n",
    );
    for r in rows {
        let (bn, bv) = match &r.baseline {
            Some((n, v)) => (n.clone(), fmt_num(*v)),
            None => (String::new(), String::new()),
        };
        let ratio = r.ratio().map(|x| format!("{x:.3}")).unwrap_or_default();
        let target = r.target.map(|t| t.describe(&r.unit)).unwrap_or_default();
        let met = match r.met() {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {bn} | {bv} | {ratio} | {target} | {met} |\n",
            r.name,
            fmt_num(r.value),
            r.unit
        ));
    }
    out
}

/// Notes of the rows that have one.
pub fn notes(rows: &[Row]) -> String {
    rows.iter().filter_map(|r| r.note.as_ref().map(|n| format!("- `{}`: {n}\n", r.name))).collect()
}

/// Writes `{"scenarios":[...], "meta":{...}}`.
pub fn write_json(path: &Path, rows: &[Row], meta: Value) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let doc = json!({
        "scenarios": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        "meta": meta,
    });
    let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}
