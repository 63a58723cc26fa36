//! The ids of applications, API keys, OAuth clients and AccessToken pairs: UUIDs, each its own
//! type, so that one kind of id cannot be passed where another is meant (a key id where an
//! application id is expected compiles no more).

use std::fmt;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Parses the hyphenated or simple form (a path segment, a form field); `None`
            /// for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                Uuid::try_parse(text.trim()).ok().map(Self)
            }

            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

uuid_id!(
    /// An application (SPEC §4).
    AppId
);
uuid_id!(
    /// An API key of an application; public, and embedded in the key's secret.
    KeyId
);
uuid_id!(
    /// An OAuth client: its `client_id`.
    ClientId
);
uuid_id!(
    /// An AccessToken/AccessSecret pair: the AccessToken itself.
    PairId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_uuids_and_nothing_else() {
        let id = Uuid::new_v4();
        assert_eq!(AppId::parse(&id.to_string()), Some(AppId(id)));
        assert_eq!(KeyId::parse(&id.simple().to_string()), Some(KeyId(id)));
        assert_eq!(ClientId::parse("not-a-uuid"), None);
        assert_eq!(PairId(id).to_string(), id.to_string());
    }
}
