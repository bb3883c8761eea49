//! The four keys every config starts with — `experiment`, `description`, `seed`, `device` —
//! declared once, and the opening every run makes from them (seed and device, `--seed` and
//! `--device` winning).
//!
//! Each experiment's config embeds a [`Header`] (`#[serde(skip)] pub header: Header`) and
//! implements [`Headed`]; [`crate::config::Loaded::parse`] reads the four keys into the header
//! and hands every other key to the config's own derived `Deserialize`, which keeps
//! `deny_unknown_fields`. (`#[serde(flatten)]` would have been the obvious form, but serde does
//! not support it together with `deny_unknown_fields`, and it buffers values, losing the
//! TOML line of an error.) The split happens in a `MapAccess` wrapper, so the config's own keys
//! are read straight from the TOML deserializer: an unknown key is still rejected with its
//! key path and line.

use std::fmt;
use std::marker::PhantomData;

use anyhow::Result;
use burn::tensor::Device;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::cli::Cli;

/// The config keys shared by every experiment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// `experiment`: the registered experiment the config runs (required).
    pub experiment: String,
    /// `description`: one line for `experiments list` (default empty).
    pub description: String,
    /// `seed`: the run's seed (default [`Headed::DEFAULT_SEED`] of the experiment; `--seed`
    /// overrides it).
    pub seed: u64,
    /// `device`: backend name (default `flex`; `--device` overrides it).
    pub device: Option<String>,
}

/// The header's keys, as written in a config.
pub const HEADER_KEYS: [&str; 4] = ["experiment", "description", "seed", "device"];

/// A config that embeds a [`Header`].
pub trait Headed {
    /// The seed when the config leaves `seed` out (each experiment cites its source).
    const DEFAULT_SEED: u64;
    /// The header, to fill in after parsing (read it as the config's `header` field).
    fn header_mut(&mut self) -> &mut Header;
}

/// What a run opens with: the seed and the device, each from the command line if given,
/// else from the config's header.
#[derive(Debug, Clone)]
pub struct Opening {
    /// `--seed`, else the header's `seed`.
    pub seed: u64,
    /// The backend's name (`flex`, `tch-cuda:0`, ...).
    pub device_name: String,
    /// The plain (not autodiff) device, not yet seeded.
    pub device: Device,
}

impl Opening {
    /// Resolves seed and device (errors: unknown or not compiled-in device names).
    pub fn resolve(cli: &Cli, header: &Header) -> Result<Self> {
        let seed = cli.seed.unwrap_or(header.seed);
        let (device_name, device) =
            crate::device::resolve(cli.device.as_deref(), header.device.as_deref())?;
        Ok(Self {
            seed,
            device_name,
            device,
        })
    }
}

/// Parses a headed config from TOML text (no file, no key path in errors: for tests and
/// tools; runs go through [`crate::config::Loaded::parse`]).
pub fn from_toml<T: serde::de::DeserializeOwned + Headed>(
    text: &str,
) -> Result<T, toml::de::Error> {
    toml::from_str::<WithHeader<T>>(text).map(|config| config.0)
}

/// Deserialises a headed config: header keys into [`Header`], the rest into `T`.
pub(crate) struct WithHeader<T>(pub T);

impl<'de, T: Deserialize<'de> + Headed> Deserialize<'de> for WithHeader<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(SplitVisitor(PhantomData))
            .map(WithHeader)
    }
}

struct SplitVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de> + Headed> Visitor<'de> for SplitVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a config table")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        let mut raw = RawHeader::default();
        let mut config = T::deserialize(de::value::MapAccessDeserializer::new(HeaderTaker {
            map,
            raw: &mut raw,
        }))?;
        let experiment = raw
            .experiment
            .ok_or_else(|| de::Error::missing_field("experiment"))?;
        *config.header_mut() = Header {
            experiment,
            description: raw.description.unwrap_or_default(),
            seed: raw.seed.unwrap_or(T::DEFAULT_SEED),
            device: raw.device,
        };
        Ok(config)
    }
}

#[derive(Default)]
struct RawHeader {
    experiment: Option<String>,
    description: Option<String>,
    seed: Option<u64>,
    device: Option<String>,
}

/// A map that keeps the header's keys for itself and passes every other key on.
struct HeaderTaker<'r, A> {
    map: A,
    raw: &'r mut RawHeader,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for HeaderTaker<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = Some(seed);
        // The config's own key is read inside the TOML map's `next_key_seed` (not from a
        // copied string afterwards), so an unknown key's error carries the key's line.
        while let Some(key) = self.map.next_key_seed(KeySeed(&mut seed))? {
            match key {
                Key::Other(value) => return Ok(Some(value)),
                Key::Header("experiment") => self.raw.experiment = Some(self.map.next_value()?),
                Key::Header("description") => self.raw.description = Some(self.map.next_value()?),
                Key::Header("seed") => self.raw.seed = Some(self.map.next_value()?),
                Key::Header(_) => self.raw.device = Some(self.map.next_value()?),
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// A key of the config table: one of [`HEADER_KEYS`], or the config's own key.
enum Key<V> {
    Header(&'static str),
    Other(V),
}

/// Reads one key: a header key stays here, any other goes to the config's key seed (taken
/// from the option, so the loop keeps it until a key of the config comes).
struct KeySeed<'s, K>(&'s mut Option<K>);

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, K> {
    type Value = Key<K::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let key = String::deserialize(deserializer)?;
        if let Some(header) = HEADER_KEYS.iter().find(|h| **h == key) {
            return Ok(Key::Header(header));
        }
        let seed = self
            .0
            .take()
            .ok_or_else(|| de::Error::custom("config key read twice"))?;
        let key: de::value::StringDeserializer<D::Error> = key.into_deserializer();
        seed.deserialize(key).map(Key::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Debug, Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct Demo {
        #[serde(skip)]
        header: Header,
        #[serde(default)]
        steps: usize,
        #[serde(default)]
        inner: Inner,
    }

    #[derive(Debug, Default, Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[serde(default)]
        lr: f64,
    }

    impl Headed for Demo {
        const DEFAULT_SEED: u64 = 7;
        fn header_mut(&mut self) -> &mut Header {
            &mut self.header
        }
    }

    fn parse(text: &str) -> std::result::Result<Demo, String> {
        let de = toml::Deserializer::new(text);
        serde_path_to_error::deserialize::<_, WithHeader<Demo>>(de)
            .map(|w| w.0)
            .map_err(|e| {
                let path = e.path().to_string();
                format!("at `{path}`: {}", e.into_inner())
            })
    }

    #[test]
    fn header_keys_fill_the_header_and_the_rest_the_config() {
        let d = parse(
            "experiment = \"demo\"\ndescription = \"d\"\nseed = 3\ndevice = \"ndarray\"\nsteps = 4\n[inner]\nlr = 0.5\n",
        )
        .unwrap();
        assert_eq!(
            d.header,
            Header {
                experiment: "demo".into(),
                description: "d".into(),
                seed: 3,
                device: Some("ndarray".into()),
            }
        );
        assert_eq!((d.steps, d.inner.lr), (4, 0.5));
        // Left out: the experiment's default seed, no description, no device.
        let d = parse("experiment = \"demo\"\n").unwrap();
        assert_eq!((d.header.seed, d.header.description.as_str()), (7, ""));
        assert_eq!(d.header.device, None);
    }

    #[test]
    fn unknown_keys_are_still_rejected_with_path_and_line() {
        let e = parse("experiment = \"demo\"\nstep = 4\n").unwrap_err();
        assert!(
            e.contains("unknown field `step`") && e.contains("line 2"),
            "{e}"
        );
        let e = parse("experiment = \"demo\"\n[inner]\nrate = 1.0\n").unwrap_err();
        assert!(
            e.contains("unknown field `rate`") && e.contains("line 3") && e.contains("inner"),
            "{e}"
        );
        let e = parse("experiment = \"demo\"\nseed = -1\n").unwrap_err();
        assert!(e.contains("at `seed`") && e.contains("line 2"), "{e}");
        let e = parse("seed = 1\n").unwrap_err();
        assert!(e.contains("missing field `experiment`"), "{e}");
    }
}
