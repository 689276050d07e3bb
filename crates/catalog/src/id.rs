//! Typed ids: a catalogue library's number is not a cluster's, and neither is a
//! directory lender's (`rota_routing::LenderId`).
//!
//! Each is a `u32` underneath (the snapshot stores them so, and roaring bitmaps and
//! posting lists hold them as such), wrapped so that one cannot be passed where another
//! is meant: the engine keeps a map from library ids to lender ids and back, and an
//! index used on the wrong side of it names the wrong library without any error.

/// Defines a `u32` id type with the conversions every id has.
#[macro_export]
macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(u32);

        impl $name {
            /// The id numbered `n`.
            #[inline]
            pub const fn new(n: u32) -> $name {
                $name(n)
            }

            /// Its number.
            #[inline]
            pub const fn get(self) -> u32 {
                self.0
            }

            /// Its number as an index into the table it numbers.
            #[inline]
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

typed_id! {
    /// A library of the catalogue: its position in [`crate::Catalog::libraries`].
    LibraryId
}

typed_id! {
    /// A cluster: the records the catalogue takes for one item, numbered in the snapshot.
    ClusterId
}
