//! Closed sets as enums that read and write the same strings as before: `closed_set!` declares
//! the enum with its wire names, and gives it `as_str`, `ALL`, `Display`, `FromStr` (whose error
//! lists the allowed values) and serde as a plain string (so a ClickHouse `String` column, JSON
//! and TOML all see the same text).

/// A value outside a closed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}` (one of: {})", allowed.join(", "))]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub allowed: &'static [&'static str],
}

/// `closed_set! { /// doc  pub enum Name("what it is") { Variant = "wire", … } }`
#[macro_export]
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The wire names, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::closed::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::closed::UnknownValue {
                        what: $what,
                        value: s.to_string(),
                        allowed: Self::NAMES,
                    }),
                }
            }
        }

        impl $crate::closed::__serde::Serialize for $name {
            fn serialize<S: $crate::closed::__serde::Serializer>(
                &self,
                s: S,
            ) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::closed::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::closed::__serde::Deserializer<'de>>(
                d: D,
            ) -> Result<Self, D::Error> {
                let s = <String as $crate::closed::__serde::Deserialize>::deserialize(d)?;
                s.parse()
                    .map_err(<D::Error as $crate::closed::__serde::de::Error>::custom)
            }
        }
    };
}

#[doc(hidden)]
pub use serde as __serde;

#[cfg(test)]
mod tests {
    crate::closed_set! {
        /// A test set.
        pub enum Colour("colour") { Red = "red", DarkBlue = "dark_blue" }
    }

    #[test]
    fn reads_and_writes_its_wire_names_and_names_the_allowed_values() {
        assert_eq!("dark_blue".parse::<Colour>(), Ok(Colour::DarkBlue));
        assert_eq!(serde_json::to_string(&Colour::Red).unwrap(), "\"red\"");
        assert_eq!(
            serde_json::from_str::<Colour>("\"dark_blue\"").unwrap(),
            Colour::DarkBlue
        );
        let err = "blue".parse::<Colour>().unwrap_err().to_string();
        assert_eq!(err, "unknown colour `blue` (one of: red, dark_blue)");
        assert!(serde_json::from_str::<Colour>("\"blue\"").is_err());
    }
}
