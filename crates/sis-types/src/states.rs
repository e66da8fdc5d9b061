//! States Docker reports as words, as enums. Each keeps an `Other` arm for words a later
//! Docker may add, and serializes as the word itself, so recorded JSON reads back unchanged.

/// An enum of Docker's words: `From<&str>`, `FromStr`, `Display` and serde as the word.
macro_rules! docker_word {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A word this version of sis does not know, as Docker wrote it.
            Other(String),
        }

        impl $name {
            /// The word as Docker writes it (lower case).
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $word,)+
                    $name::Other(word) => word,
                }
            }
        }

        impl From<&str> for $name {
            fn from(word: &str) -> Self {
                match word {
                    $($word => $name::$variant,)+
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl From<String> for $name {
            fn from(word: String) -> Self {
                $name::from(word.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(word: &str) -> Result<Self, Self::Err> {
                Ok($name::from(word))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let word = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok($name::from(word.as_ref()))
            }
        }
    };
}

docker_word! {
    /// The engine's place in swarm mode (`LocalNodeState` of `docker info`).
    LocalNodeState {
        Inactive = "inactive",
        Pending = "pending",
        Active = "active",
        Error = "error",
        Locked = "locked",
    }
}

docker_word! {
    /// A container's state.
    ContainerState {
        Created = "created",
        Running = "running",
        Paused = "paused",
        Restarting = "restarting",
        Removing = "removing",
        Exited = "exited",
        Dead = "dead",
    }
}

docker_word! {
    /// A swarm node's status (lower case, as `docker node ls` shows it lower-cased).
    NodeStatus {
        Ready = "ready",
        Down = "down",
        Unknown = "unknown",
        Disconnected = "disconnected",
    }
}

docker_word! {
    /// A swarm node's availability.
    Availability {
        Active = "active",
        Pause = "pause",
        Drain = "drain",
    }
}

docker_word! {
    /// A swarm node's manager status; `None` (the empty word) for a worker.
    #[derive(Default)]
    ManagerStatus {
        #[default]
        None = "",
        Leader = "leader",
        Reachable = "reachable",
        Unreachable = "unreachable",
    }
}

/// An engine not asked yet reports nothing: the empty word, read as not in a swarm.
impl Default for LocalNodeState {
    fn default() -> Self {
        LocalNodeState::Other(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_unknown_words_are_kept() {
        assert_eq!(LocalNodeState::from("locked"), LocalNodeState::Locked);
        assert_eq!(
            "frozen".parse::<LocalNodeState>().unwrap(),
            LocalNodeState::Other("frozen".into())
        );
        assert_eq!(ManagerStatus::from(""), ManagerStatus::None);
        for json in [r#""running""#, r#""zombie""#] {
            let state: ContainerState = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&state).unwrap(), json);
        }
        assert_eq!(
            serde_json::to_string(&ManagerStatus::None).unwrap(),
            r#""""#
        );
        assert_eq!(NodeStatus::Ready.to_string(), "ready");
        assert_eq!(Availability::Drain, "drain");
    }
}
