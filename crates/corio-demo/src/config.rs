//! The command line and the environment: where to listen, which database, the write
//! token, the log format.
//!
//! Every setting has a flag and an environment variable; a flag wins over the variable,
//! the variable over the default. An empty variable counts as unset (so `CORIO_DEMO_DB=`
//! in a shell script means "the default", not "a file named ''").
//!
//! Parsing is hand-rolled: six flags do not justify an argument-parsing crate's compile
//! time. [`parse`] takes the arguments and a lookup for the environment, so tests drive
//! it without touching the process's own.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// `--host`'s default: loopback only, so a demo is not exposed by accident.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// `--port`'s default.
pub const DEFAULT_PORT: u16 = 8000;
/// `--db`'s default, relative to the working directory.
pub const DEFAULT_DB: &str = "./corio-demo.db";
/// `--sweep-secs`' default: how often deleted notes are purged.
pub const DEFAULT_SWEEP_SECS: u64 = 30;

/// What `--help` prints.
pub const USAGE: &str = "\
corio-demo: a notes API on corio-web, with SQLite as its store.

Usage: corio-demo [OPTIONS]

Options:
  --host <HOST>        Address to listen on [env: CORIO_DEMO_HOST] [default: 127.0.0.1]
  --port <PORT>        Port to listen on; 0 picks a free one [env: CORIO_DEMO_PORT] [default: 8000]
  --db <PATH>          SQLite database file, created on first run; ':memory:' keeps
                       everything in memory [env: CORIO_DEMO_DB] [default: ./corio-demo.db]
  --token <TOKEN>      Bearer token that writes need; without one a random token is
                       generated and printed at start [env: CORIO_DEMO_TOKEN]
  --log-format <FMT>   'text' or 'json' (one JSON object per line) [env: CORIO_DEMO_LOG] [default: text]
  --sweep-secs <SECS>  How often deleted notes are purged [env: CORIO_DEMO_SWEEP_SECS] [default: 30]
  -h, --help           Print this help
  -V, --version        Print the version

Logs go to stderr, filtered by RUST_LOG (default: info).";

/// Where the notes are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbLocation {
    /// A database file, created if missing.
    File(PathBuf),
    /// `:memory:`: gone when the process exits.
    Memory,
}

impl DbLocation {
    fn parse(value: &str) -> DbLocation {
        if value == ":memory:" {
            DbLocation::Memory
        } else {
            DbLocation::File(PathBuf::from(value))
        }
    }
}

impl fmt::Display for DbLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbLocation::File(path) => path.display().fmt(f),
            DbLocation::Memory => f.write_str(":memory:"),
        }
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// For people: one line per event, fields as `key=value`.
    Text,
    /// For machines: one JSON object per line.
    Json,
}

/// The settings the server runs with.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// The address to bind (a name or an IP address).
    pub host: String,
    /// The port to bind; 0 lets the system pick one.
    pub port: u16,
    /// The database.
    pub db: DbLocation,
    /// The bearer token writes need; `None` means "generate one at start".
    pub token: Option<String>,
    /// The log format.
    pub log_format: LogFormat,
    /// How often the background sweeper purges deleted notes.
    pub sweep_interval: Duration,
}

/// The token is a secret: `Debug` (and so any log of the config) leaves it out.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("db", &self.db)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("log_format", &self.log_format)
            .field("sweep_interval", &self.sweep_interval)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            host: DEFAULT_HOST.to_owned(),
            port: DEFAULT_PORT,
            db: DbLocation::parse(DEFAULT_DB),
            token: None,
            log_format: LogFormat::Text,
            sweep_interval: Duration::from_secs(DEFAULT_SWEEP_SECS),
        }
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Serve with this configuration.
    Run(Config),
    /// Print [`USAGE`] and exit.
    Help,
    /// Print the version and exit.
    Version,
}

/// A command line or environment the demo cannot run with; its message says which
/// setting and why. `main` prints it and exits with code 2, as argument errors do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// One setting: its flag, its environment variable, and how to apply a value.
struct Setting {
    flag: &'static str,
    env: &'static str,
    apply: fn(&mut Config, &str) -> Result<(), String>,
}

const SETTINGS: &[Setting] = &[
    Setting {
        flag: "--host",
        env: "CORIO_DEMO_HOST",
        apply: |config, value| {
            config.host = value.to_owned();
            Ok(())
        },
    },
    Setting {
        flag: "--port",
        env: "CORIO_DEMO_PORT",
        apply: |config, value| {
            config.port = value
                .parse()
                .map_err(|_| "expected a number from 0 to 65535".to_owned())?;
            Ok(())
        },
    },
    Setting {
        flag: "--db",
        env: "CORIO_DEMO_DB",
        apply: |config, value| {
            config.db = DbLocation::parse(value);
            Ok(())
        },
    },
    Setting {
        flag: "--token",
        env: "CORIO_DEMO_TOKEN",
        apply: |config, value| {
            // Anything that fits in an `Authorization` header after `Bearer `.
            if !value.bytes().all(|b| b.is_ascii_graphic()) {
                return Err("expected visible ASCII characters, no spaces".to_owned());
            }
            config.token = Some(value.to_owned());
            Ok(())
        },
    },
    Setting {
        flag: "--log-format",
        env: "CORIO_DEMO_LOG",
        apply: |config, value| {
            config.log_format = match value {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err("expected 'text' or 'json'".to_owned()),
            };
            Ok(())
        },
    },
    Setting {
        flag: "--sweep-secs",
        env: "CORIO_DEMO_SWEEP_SECS",
        apply: |config, value| {
            let secs: u64 = value
                .parse()
                .ok()
                .filter(|&secs| secs > 0)
                .ok_or_else(|| "expected a whole number of seconds, at least 1".to_owned())?;
            config.sweep_interval = Duration::from_secs(secs);
            Ok(())
        },
    },
];

/// Reads the configuration from `args` (without the program name) and the environment
/// `env` (a lookup, `std::env::var` in `main`).
///
/// Flags take their value as the next argument or after `=` (`--port 8080`,
/// `--port=8080`). A flag given twice keeps its last value.
pub fn parse<I, F>(args: I, env: F) -> Result<Command, ConfigError>
where
    I: IntoIterator<Item = String>,
    F: Fn(&str) -> Option<String>,
{
    let mut config = Config::default();
    for setting in SETTINGS {
        if let Some(value) = env(setting.env).filter(|value| !value.is_empty()) {
            (setting.apply)(&mut config, &value)
                .map_err(|why| ConfigError(format!("invalid {} {value:?}: {why}", setting.env)))?;
        }
    }

    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            _ => {}
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let Some(setting) = SETTINGS.iter().find(|setting| setting.flag == flag) else {
            let what = if flag.starts_with('-') {
                "unknown option"
            } else {
                "unexpected argument"
            };
            return Err(ConfigError(format!("{what} '{flag}'")));
        };
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .ok_or_else(|| ConfigError(format!("{flag} needs a value")))?,
        };
        (setting.apply)(&mut config, &value)
            .map_err(|why| ConfigError(format!("invalid {flag} {value:?}: {why}")))?;
    }
    Ok(Command::Run(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| arg.to_string()).collect()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn run(command: Result<Command, ConfigError>) -> Config {
        match command {
            Ok(Command::Run(config)) => config,
            other => panic!("expected a configuration, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let config = run(parse(args(&[]), no_env));
        assert_eq!(config, Config::default());
        assert_eq!(config.host, "127.0.0.1");
        assert_eq!(config.port, 8000);
        assert_eq!(config.db, DbLocation::File("./corio-demo.db".into()));
        assert_eq!(config.token, None);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.sweep_interval, Duration::from_secs(30));
    }

    #[test]
    fn flags_in_both_spellings() {
        let config = run(parse(
            args(&[
                "--host",
                "0.0.0.0",
                "--port=0",
                "--db",
                ":memory:",
                "--token=s3cret",
                "--log-format",
                "json",
                "--sweep-secs",
                "2",
            ]),
            no_env,
        ));
        assert_eq!(config.host, "0.0.0.0");
        assert_eq!(config.port, 0);
        assert_eq!(config.db, DbLocation::Memory);
        assert_eq!(config.token.as_deref(), Some("s3cret"));
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.sweep_interval, Duration::from_secs(2));
    }

    #[test]
    fn the_environment_fills_in_and_flags_win() {
        let env = |name: &str| {
            let value = match name {
                "CORIO_DEMO_HOST" => "::1",
                "CORIO_DEMO_PORT" => "9000",
                "CORIO_DEMO_DB" => "/tmp/notes.db",
                "CORIO_DEMO_TOKEN" => "from-env",
                "CORIO_DEMO_LOG" => "json",
                // Empty is unset.
                "CORIO_DEMO_SWEEP_SECS" => "",
                _ => return None,
            };
            Some(value.to_owned())
        };
        let config = run(parse(args(&["--port", "9001"]), env));
        assert_eq!(config.host, "::1");
        assert_eq!(config.port, 9001, "the flag wins");
        assert_eq!(config.db, DbLocation::File("/tmp/notes.db".into()));
        assert_eq!(config.token.as_deref(), Some("from-env"));
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.sweep_interval, Duration::from_secs(30));
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse(args(&["--help"]), no_env), Ok(Command::Help));
        assert_eq!(
            parse(args(&["--port", "1", "-h"]), no_env),
            Ok(Command::Help)
        );
        assert_eq!(parse(args(&["-V"]), no_env), Ok(Command::Version));
    }

    #[test]
    fn errors_name_the_setting_and_the_reason() {
        let error = |list: &[&str]| parse(args(list), no_env).unwrap_err().to_string();
        assert_eq!(error(&["--bogus"]), "unknown option '--bogus'");
        assert_eq!(error(&["--bogus=1"]), "unknown option '--bogus'");
        assert_eq!(error(&["serve"]), "unexpected argument 'serve'");
        assert_eq!(error(&["--port"]), "--port needs a value");
        assert_eq!(
            error(&["--port", "http"]),
            r#"invalid --port "http": expected a number from 0 to 65535"#
        );
        assert_eq!(
            error(&["--port", "65536"]),
            r#"invalid --port "65536": expected a number from 0 to 65535"#
        );
        assert_eq!(
            error(&["--log-format", "xml"]),
            r#"invalid --log-format "xml": expected 'text' or 'json'"#
        );
        assert_eq!(
            error(&["--sweep-secs", "0"]),
            r#"invalid --sweep-secs "0": expected a whole number of seconds, at least 1"#
        );
        assert_eq!(
            error(&["--token", "two words"]),
            r#"invalid --token "two words": expected visible ASCII characters, no spaces"#
        );

        let bad_env = |name: &str| (name == "CORIO_DEMO_PORT").then(|| "eighty".to_owned());
        assert_eq!(
            parse(args(&[]), bad_env).unwrap_err().to_string(),
            r#"invalid CORIO_DEMO_PORT "eighty": expected a number from 0 to 65535"#
        );
    }

    #[test]
    fn the_token_stays_out_of_debug_output() {
        let config = run(parse(args(&["--token", "hunter2"]), no_env));
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
