//! The MD5 digests SQS returns so clients can check what it stored (AWS-SEMANTICS 4.3):
//! `MD5OfMessageBody` is the hex MD5 of the body's UTF-8 bytes; `MD5OfMessageAttributes`
//! (and `MD5OfMessageSystemAttributes`) encode the attributes sorted by name, each as
//! `len(name) name len(type) type transport-byte len(value) value` with big-endian u32
//! lengths, transport 1 for String/Number and 2 for Binary.

use ::md5::{Digest, Md5};

use super::message::{AttributeData, Attributes};

pub fn of_body(body: &str) -> String {
    hex(&Md5::digest(body.as_bytes()))
}

/// The digest of a set of message attributes; `None` when there are none (AWS then omits it).
pub fn of_attributes<'a>(
    attributes: impl IntoIterator<Item = (&'a String, &'a super::message::AttributeValue)>,
) -> Option<String> {
    let mut hasher = Md5::new();
    let mut any = false;
    for (name, value) in attributes {
        any = true;
        update_with_len(&mut hasher, name.as_bytes());
        update_with_len(&mut hasher, value.data_type.as_bytes());
        match &value.data {
            AttributeData::String(s) => {
                hasher.update([1u8]);
                update_with_len(&mut hasher, s.as_bytes());
            }
            AttributeData::Binary(b) => {
                hasher.update([2u8]);
                update_with_len(&mut hasher, b);
            }
        }
    }
    any.then(|| hex(&hasher.finalize()))
}

/// The digest of a whole attribute map (already sorted, being a `BTreeMap`).
pub fn of_attribute_map(attributes: &Attributes) -> Option<String> {
    of_attributes(attributes.iter())
}

fn update_with_len(hasher: &mut Md5, bytes: &[u8]) {
    // Attribute names, types and values are bounded far below 4 GiB by the message size limit.
    hasher.update((bytes.len() as u32).to_be_bytes());
    hasher.update(bytes);
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(32), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqs::message::AttributeValue;

    fn string(data_type: &str, value: &str) -> AttributeValue {
        AttributeValue {
            data_type: data_type.into(),
            data: AttributeData::String(value.into()),
        }
    }

    #[test]
    fn body_digest_is_the_hex_md5_of_the_utf8_bytes() {
        assert_eq!(of_body("Test message."), "e4e68fb7bd0e697a0ae8f1bb342846b3");
        assert_eq!(of_body(""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn attribute_digest_matches_the_aws_semantics_vector() {
        let mut attrs = Attributes::new();
        attrs.insert("Attr1".into(), string("String", "hello"));
        assert_eq!(
            of_attribute_map(&attrs).as_deref(),
            Some("0e8de68728d427c5c7d440433dd261c0")
        );
    }

    #[test]
    fn attribute_digest_sorts_by_name_and_marks_binary_with_transport_two() {
        // The expected buffer is built by hand in name order: a, then b.
        let mut attrs = Attributes::new();
        attrs.insert(
            "b".into(),
            AttributeValue {
                data_type: "Binary".into(),
                data: AttributeData::Binary(vec![0, 1, 2]),
            },
        );
        attrs.insert("a".into(), string("Number", "42"));
        let mut expected = Vec::new();
        for (name, ty, transport, value) in [
            ("a", "Number", 1u8, &b"42"[..]),
            ("b", "Binary", 2u8, &[0u8, 1, 2][..]),
        ] {
            expected.extend((name.len() as u32).to_be_bytes());
            expected.extend(name.as_bytes());
            expected.extend((ty.len() as u32).to_be_bytes());
            expected.extend(ty.as_bytes());
            expected.push(transport);
            expected.extend((value.len() as u32).to_be_bytes());
            expected.extend(value);
        }
        assert_eq!(of_attribute_map(&attrs), Some(hex(&Md5::digest(&expected))));
    }

    #[test]
    fn no_attributes_means_no_digest() {
        assert_eq!(of_attribute_map(&Attributes::new()), None);
    }
}
