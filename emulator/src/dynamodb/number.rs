//! DynamoDB numbers: exact decimals of up to 38 significant digits with magnitudes from
//! 1E-130 to 9.99..E+125, normalised the way DynamoDB reads them back ("1.50" -> "1.5",
//! "1e2" -> "100"). Arithmetic is exact (no f64 round trip): 0.1 + 0.2 is 0.3.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use bigdecimal::BigDecimal;
use bigdecimal::num_bigint::{BigInt, Sign};

/// Most significant digits a DynamoDB number may have.
pub const MAX_DIGITS: u64 = 38;
/// Exponent bounds: positive magnitudes lie in [1E-130, 1E+126).
const MIN_EXPONENT: i64 = -130;
const MAX_EXPONENT: i64 = 125;

/// Why a string or a result is not a DynamoDB number; `Display` is AWS's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("A value provided cannot be converted into a number")]
    NotANumber,
    #[error("Attempting to store more than 38 significant digits in a Number")]
    TooPrecise,
    #[error(
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    )]
    Overflow,
    #[error(
        "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    )]
    Underflow,
}

/// A validated, normalised DynamoDB number (trailing zeros stripped, so equal numbers are
/// structurally equal and `Hash`/`Eq` agree with numeric equality).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number(BigDecimal);

impl Number {
    pub fn zero() -> Self {
        Number(BigDecimal::from(0))
    }

    fn checked(value: BigDecimal) -> Result<Self, NumberError> {
        let value = value.normalized();
        if value.sign() == Sign::NoSign {
            return Ok(Number(value));
        }
        let digits = value.digits();
        if digits > MAX_DIGITS {
            return Err(NumberError::TooPrecise);
        }
        // value = int * 10^-scale; its decimal exponent (scientific notation) is:
        let (_, scale) = value.as_bigint_and_exponent();
        let exponent = digits as i64 - 1 - scale;
        if exponent > MAX_EXPONENT {
            return Err(NumberError::Overflow);
        }
        if exponent < MIN_EXPONENT {
            return Err(NumberError::Underflow);
        }
        Ok(Number(value))
    }

    pub fn add(&self, other: &Number) -> Result<Number, NumberError> {
        Self::checked(&self.0 + &other.0)
    }

    pub fn sub(&self, other: &Number) -> Result<Number, NumberError> {
        Self::checked(&self.0 - &other.0)
    }

    /// Bytes DynamoDB counts for this number: its significant digits in base-100 pairs
    /// aligned on the decimal point, plus one byte of exponent, plus one if negative (so 1 and
    /// 12 take 2 bytes, 123 and 1.5 take 3, 1000 takes 2, 0 takes 1), as DynamoDB Local
    /// reports in TableSizeBytes.
    pub fn stored_size(&self) -> usize {
        if self.0.sign() == Sign::NoSign {
            return 1;
        }
        let (int, scale) = self.0.as_bigint_and_exponent();
        let highest = self.0.digits() as i64 - 1 - scale;
        let lowest = -scale;
        let pairs = highest.div_euclid(2) - lowest.div_euclid(2) + 1;
        pairs as usize + 1 + usize::from(int.sign() == Sign::Minus)
    }
}

impl FromStr for Number {
    type Err = NumberError;

    /// Accepts what DynamoDB accepts: an optional sign, digits with an optional point, and an
    /// optional exponent. The digits are checked by hand and only the significant ones reach
    /// the decimal library, so a huge string or exponent costs no more than a small one.
    fn from_str(s: &str) -> Result<Self, NumberError> {
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) {
            return Err(NumberError::NotANumber);
        }
        let digits: String = [int, frac].concat();
        let significant = digits.trim_start_matches('0');
        let trailing = significant.len() - significant.trim_end_matches('0').len();
        let significant = significant.trim_end_matches('0');
        let exponent: i64 = match exponent {
            None => 0,
            Some(exp) => {
                let (minus, magnitude) = match exp.as_bytes().first() {
                    Some(b'-') => (true, &exp[1..]),
                    Some(b'+') => (false, &exp[1..]),
                    _ => (false, exp),
                };
                if magnitude.is_empty() || !all_digits(magnitude) {
                    return Err(NumberError::NotANumber);
                }
                let magnitude = magnitude.trim_start_matches('0');
                // Beyond this the number is out of range whatever its mantissa (which the
                // request size bounds), so there is nothing to compute.
                if magnitude.len() > 12 {
                    return match (significant.is_empty(), minus) {
                        (true, _) => Ok(Number::zero()),
                        (false, true) => Err(NumberError::Underflow),
                        (false, false) => Err(NumberError::Overflow),
                    };
                }
                let value = magnitude.parse::<i64>().unwrap_or(0);
                if minus { -value } else { value }
            }
        };
        if significant.is_empty() {
            return Ok(Number::zero());
        }
        if significant.len() as u64 > MAX_DIGITS {
            return Err(NumberError::TooPrecise);
        }
        // value = significant * 10^(exponent - frac.len() + trailing zeros dropped)
        let power = exponent - frac.len() as i64 + trailing as i64;
        let int = BigInt::from_str(significant).map_err(|_| NumberError::NotANumber)?;
        let int = if negative { -int } else { int };
        Self::checked(BigDecimal::new(int, -power))
    }
}

/// The table's storage form ([`super::stored`]): the unscaled integer's two's-complement
/// bytes and the scale, exact and compact whatever the magnitude (plain text of 1E-130 would
/// take 132 bytes).
impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (int, scale) = self.0.as_bigint_and_exponent();
        serde::Serialize::serialize(&(int.to_signed_bytes_le(), scale), serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (bytes, scale): (Vec<u8>, i64) = serde::Deserialize::deserialize(deserializer)?;
        Ok(Number(BigDecimal::new(
            BigInt::from_signed_bytes_le(&bytes),
            scale,
        )))
    }
}

impl fmt::Display for Number {
    /// Plain notation, as DynamoDB answers: no exponent, no trailing fractional zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (int, scale) = self.0.as_bigint_and_exponent();
        let negative = int.sign() == Sign::Minus;
        let digits = int.magnitude().to_string();
        let sign = if negative { "-" } else { "" };
        if scale <= 0 {
            let zeros = if digits == "0" { 0 } else { (-scale) as usize };
            write!(f, "{sign}{digits}{}", "0".repeat(zeros))
        } else {
            let scale = scale as usize;
            if digits.len() > scale {
                let (i, frac) = digits.split_at(digits.len() - scale);
                write!(f, "{sign}{i}.{frac}")
            } else {
                let zeros = "0".repeat(scale - digits.len());
                write!(f, "{sign}0.{zeros}{digits}")
            }
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        s.parse().unwrap()
    }

    #[test]
    fn numbers_read_back_normalised() {
        for (input, shown) in [
            ("1.50", "1.5"),
            ("100", "100"),
            ("1e2", "100"),
            ("1.0", "1"),
            ("-0.0", "0"),
            ("0", "0"),
            ("+7", "7"),
            ("0.000120", "0.00012"),
            ("-12.340", "-12.34"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1E-130", &format!("0.{}1", "0".repeat(129))),
        ] {
            assert_eq!(n(input).to_string(), shown, "{input}");
        }
    }

    #[test]
    fn arithmetic_is_exact() {
        assert_eq!(n("0.1").add(&n("0.2")).unwrap(), n("0.3"));
        assert_eq!(n("0.1").add(&n("0.2")).unwrap().to_string(), "0.3");
        let big = "1234567890123456789012345678901234567.8";
        assert_eq!(n(big).to_string(), big);
        assert_eq!(
            n(big).add(&n("0.1")).unwrap().to_string(),
            "1234567890123456789012345678901234567.9"
        );
        assert_eq!(n("5").sub(&n("7.25")).unwrap().to_string(), "-2.25");
    }

    #[test]
    fn precision_and_range_are_enforced() {
        let digits38 = "9".repeat(38);
        assert!(digits38.parse::<Number>().is_ok());
        assert_eq!(
            "9".repeat(39).parse::<Number>(),
            Err(NumberError::TooPrecise)
        );
        // Trailing zeros are not significant.
        assert!(format!("{}000", digits38).parse::<Number>().is_ok());
        assert_eq!(
            n(&digits38).add(&n("1")).unwrap().to_string(),
            format!("1{}", "0".repeat(38))
        );
        assert_eq!(n(&digits38).add(&n("0.1")), Err(NumberError::TooPrecise));
        assert!("9.9e125".parse::<Number>().is_ok());
        assert_eq!("1e126".parse::<Number>(), Err(NumberError::Overflow));
        assert_eq!("1e-131".parse::<Number>(), Err(NumberError::Underflow));
        assert_eq!(
            "1e99999999999".parse::<Number>(),
            Err(NumberError::Overflow)
        );
        assert_eq!("0e99999999999".parse::<Number>(), Ok(Number::zero()));
        assert_eq!(
            "1e-99999999999999999".parse::<Number>(),
            Err(NumberError::Underflow)
        );
        // Zeros are not significant, however many there are.
        let long = format!("0.{}1{}", "0".repeat(100), "0".repeat(100_000));
        assert_eq!(
            long.parse::<Number>().unwrap().to_string(),
            format!("0.{}1", "0".repeat(100))
        );
        assert_eq!(
            format!("1{}", "0".repeat(200)).parse::<Number>(),
            Err(NumberError::Overflow)
        );
        assert_eq!(
            format!("{}e-5", "1".repeat(100_000)).parse::<Number>(),
            Err(NumberError::TooPrecise)
        );
    }

    #[test]
    fn non_numbers_are_rejected() {
        for bad in [
            "", "abc", "1..2", "NaN", "Infinity", "1e", "--1", " 1", "0x10", "1,5",
        ] {
            assert_eq!(
                bad.parse::<Number>(),
                Err(NumberError::NotANumber),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn stored_size_counts_base_100_pairs() {
        for (input, size) in [
            ("0", 1),
            ("1", 2),
            ("12", 2),
            ("123", 3),
            ("1234", 3),
            ("12345", 4),
            ("1.5", 3),
            ("10", 2),
            ("1000", 2),
            ("0.1", 2),
            ("0.001", 2),
            ("-1", 3),
            ("-12345", 5),
            ("1e100", 2),
            ("12.345", 4),
        ] {
            assert_eq!(n(input).stored_size(), size, "{input}");
        }
    }

    #[test]
    fn ordering_is_numeric() {
        assert!(n("9") < n("10"));
        assert!(n("-10") < n("-9"));
        assert!(n("0.5") < n("1"));
        assert_eq!(n("1.50"), n("1.5"));
    }
}
