//! Stable fingerprints for change detection (not security): FNV-1a over length-prefixed
//! fields, 128 bits, and a canonical JSON text (object keys sorted) to hash values by meaning.

use serde_json::Value;

/// FNV-1a, 128 bits. Each [`Fnv128::field`] is prefixed with its length, so `("ab", "c")`
/// and `("a", "bc")` hash differently.
#[derive(Debug, Clone, Copy)]
pub struct Fnv128(pub u128);

impl Default for Fnv128 {
    fn default() -> Self {
        Fnv128(0x6c62272e07bb014262b821756295c58d)
    }
}

impl Fnv128 {
    pub fn field(&mut self, bytes: &[u8]) {
        for b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            self.0 ^= u128::from(*b);
            self.0 = self.0.wrapping_mul(0x0000000001000000000000000000013B);
        }
    }

    /// 32 lowercase hex digits.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}

/// The fingerprint of one text (a playbook, say).
pub fn text_hash(text: &str) -> String {
    let mut h = Fnv128::default();
    h.field(text.as_bytes());
    h.hex()
}

/// JSON with every object's keys in sorted order and no spaces: the same value always gives
/// the same text, whatever order a YAML mapping was written in.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_length_prefixed_and_canonical_json_sorts_keys() {
        let hash = |parts: &[&str]| {
            let mut h = Fnv128::default();
            parts.iter().for_each(|p| h.field(p.as_bytes()));
            h.hex()
        };
        assert_ne!(hash(&["ab", "c"]), hash(&["a", "bc"]));
        assert_eq!(hash(&["x"]).len(), 32);
        let a: Value = serde_json::from_str(r#"{"b": [1, {"d": null, "c": "x"}], "a": true}"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":true,"b":[1,{"c":"x","d":null}]}"#);
    }
}
