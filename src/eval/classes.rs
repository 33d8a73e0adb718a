//! The classes of a multiclass (label-mask) evaluation: `--classes Tumor=1,Benign=2` parsed and
//! checked into [`LabelClass`]es, one binary comparison each (positive = value equal to the
//! class's value).

use serde::Serialize;

/// One class of a label comparison: its name and the mask value that marks it in the
/// prediction and in the truth (1–255; 0 is the background).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelClass {
    /// The class name (as in QuPath; it also names the class's report files).
    pub name: String,
    /// The prediction masks' value of the class.
    pub prediction: u8,
    /// The truth masks' value of the class.
    pub truth: u8,
}

/// Why a `--classes` list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassError {
    /// The list names no class.
    #[error("--classes names no class (write NAME=VALUE pairs, e.g. --classes Tumor=1,Benign=2)")]
    Empty,
    /// An item without `=`.
    #[error(
        "--classes: '{item}' is not NAME=VALUE (e.g. Tumor=1, or Tumor=1:3 for value 1 in the \
         predictions and 3 in the truth)"
    )]
    NotAPair {
        /// The item as written.
        item: String,
    },
    /// An empty class name.
    #[error("--classes: '{item}' has an empty class name (write NAME=VALUE, e.g. Tumor=1)")]
    EmptyName {
        /// The item as written.
        item: String,
    },
    /// A class name with a character it cannot have.
    #[error(
        "--classes: class name '{name}' contains {what}; class names also name the report \
         files, so they cannot have , = : / \\ a control character or a leading '.' (e.g. Tumor)"
    )]
    BadName {
        /// The name.
        name: String,
        /// The offending character or form, in words.
        what: String,
    },
    /// Two classes with the same name (compared without regard to case, as file names may be).
    #[error(
        "--classes: class name '{name}' is given twice (as '{first}' first): give each class once"
    )]
    DuplicateName {
        /// The second spelling.
        name: String,
        /// The first spelling.
        first: String,
    },
    /// A value that is not a whole number 1–255.
    #[error(
        "--classes: class {name}: value '{value}' is not a whole number from 1 to 255 (0 is the \
         background; label masks store one byte per class)"
    )]
    BadValue {
        /// The class.
        name: String,
        /// The value as written.
        value: String,
    },
    /// Two classes with the same value on one side.
    #[error(
        "--classes: classes {first} and {second} both have {side} value {value}: each class \
         needs its own value (write NAME=PRED:TRUTH where the two sides differ)"
    )]
    DuplicateValue {
        /// `prediction` or `truth`.
        side: &'static str,
        /// The value.
        value: u8,
        /// The class that has it first.
        first: String,
        /// The class that has it again.
        second: String,
    },
}

impl LabelClass {
    /// Parses `NAME=VALUE[,NAME=VALUE...]`, a value being `V` (the same in prediction and
    /// truth) or `PRED:TRUTH`; names are non-empty, unique (ignoring case), without `,` `=`
    /// `/` `\` or control characters and not starting with `.`; values are 1–255, unique per
    /// side.
    ///
    /// ```
    /// use h2g::eval::LabelClass;
    /// let c = LabelClass::parse_list("Tumor=1,Benign=2:5").unwrap();
    /// assert_eq!((c[1].name.as_str(), c[1].prediction, c[1].truth), ("Benign", 2, 5));
    /// assert!(LabelClass::parse_list("Tumor=0").is_err());
    /// ```
    pub fn parse_list(s: &str) -> Result<Vec<LabelClass>, ClassError> {
        let mut out: Vec<LabelClass> = Vec::new();
        for item in s.split(',') {
            if item.trim().is_empty() && s.split(',').count() > 1 {
                return Err(ClassError::NotAPair {
                    item: item.to_string(),
                });
            }
            if item.trim().is_empty() {
                continue;
            }
            let c = LabelClass::parse(item)?;
            if let Some(o) = out
                .iter()
                .find(|o| o.name.to_lowercase() == c.name.to_lowercase())
            {
                return Err(ClassError::DuplicateName {
                    name: c.name,
                    first: o.name.clone(),
                });
            }
            for (side, of) in [
                (
                    "prediction",
                    (|x: &LabelClass| x.prediction) as fn(&LabelClass) -> u8,
                ),
                ("truth", |x: &LabelClass| x.truth),
            ] {
                if let Some(o) = out.iter().find(|o| of(o) == of(&c)) {
                    return Err(ClassError::DuplicateValue {
                        side,
                        value: of(&c),
                        first: o.name.clone(),
                        second: c.name,
                    });
                }
            }
            out.push(c);
        }
        if out.is_empty() {
            return Err(ClassError::Empty);
        }
        Ok(out)
    }

    /// Parses one `NAME=V` or `NAME=PRED:TRUTH`.
    pub fn parse(item: &str) -> Result<LabelClass, ClassError> {
        let Some((name, value)) = item.split_once('=') else {
            return Err(ClassError::NotAPair { item: item.into() });
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(ClassError::EmptyName { item: item.into() });
        }
        check_name(name)?;
        let one = |v: &str| -> Result<u8, ClassError> {
            match v.trim().parse::<u16>() {
                Ok(n @ 1..=255) => Ok(n as u8),
                _ => Err(ClassError::BadValue {
                    name: name.into(),
                    value: v.trim().into(),
                }),
            }
        };
        let (prediction, truth) = match value.split_once(':') {
            Some((p, t)) => (one(p)?, one(t)?),
            None => {
                let v = one(value)?;
                (v, v)
            }
        };
        Ok(LabelClass {
            name: name.into(),
            prediction,
            truth,
        })
    }

    /// `Tumor=1` or `Tumor=1:3`, as [`LabelClass::parse`] reads it.
    pub fn spec(&self) -> String {
        if self.prediction == self.truth {
            format!("{}={}", self.name, self.prediction)
        } else {
            format!("{}={}:{}", self.name, self.prediction, self.truth)
        }
    }
}

fn check_name(name: &str) -> Result<(), ClassError> {
    let bad = |what: String| ClassError::BadName {
        name: name.into(),
        what,
    };
    if name.starts_with('.') {
        return Err(bad("a leading '.'".into()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, ',' | '=' | '/' | '\\' | ':') || c.is_control())
    {
        return Err(bad(if c.is_control() {
            format!("the control character U+{:04X}", c as u32)
        } else {
            format!("'{c}'")
        }));
    }
    Ok(())
}

/// Per mask value, the index + 1 of the class it marks (0: none) — values above 255 mark none.
pub(crate) fn lookup(classes: &[LabelClass], value: fn(&LabelClass) -> u8) -> Vec<u8> {
    let mut lut = vec![0u8; 256];
    for (i, c) in classes.iter().enumerate() {
        lut[value(c) as usize] = (i + 1) as u8;
    }
    lut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_split_values_parse() {
        let c = LabelClass::parse_list("Tumor=1, Benign = 2:7").unwrap();
        assert_eq!(
            c,
            vec![
                LabelClass {
                    name: "Tumor".into(),
                    prediction: 1,
                    truth: 1
                },
                LabelClass {
                    name: "Benign".into(),
                    prediction: 2,
                    truth: 7
                }
            ]
        );
        assert_eq!(c[1].spec(), "Benign=2:7");
        assert_eq!(c[0].spec(), "Tumor=1");
    }

    #[test]
    fn every_mistake_is_named() {
        let e = |s: &str| LabelClass::parse_list(s).unwrap_err();
        assert_eq!(e(""), ClassError::Empty);
        assert!(matches!(e("Tumor"), ClassError::NotAPair { .. }));
        assert!(matches!(e("Tumor=1,,B=2"), ClassError::NotAPair { .. }));
        assert!(matches!(e("=1"), ClassError::EmptyName { .. }));
        assert!(matches!(e("a/b=1"), ClassError::BadName { .. }));
        assert!(matches!(e(".x=1"), ClassError::BadName { .. }));
        assert!(matches!(e("T=1=2"), ClassError::BadValue { .. }));
        for v in ["0", "256", "-1", "x", "1.5", "1:0", ""] {
            assert!(
                matches!(e(&format!("T={v}")), ClassError::BadValue { .. }),
                "{v}"
            );
        }
        assert_eq!(
            e("Tumor=1,tumor=2"),
            ClassError::DuplicateName {
                name: "tumor".into(),
                first: "Tumor".into()
            }
        );
        assert_eq!(
            e("A=1:2,B=3:2"),
            ClassError::DuplicateValue {
                side: "truth",
                value: 2,
                first: "A".into(),
                second: "B".into()
            }
        );
        assert!(e("A=1,B=1")
            .to_string()
            .contains("both have prediction value 1"));
    }
}
