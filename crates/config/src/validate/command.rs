//! The command probe's table: argv (never a shell), env, cwd, output limit.

use std::path::Path;

use watchkeeper_domain::monitor::{CommandSpec, DEFAULT_OUTPUT_LIMIT, Secret};

use super::{Problems, size};
use crate::raw::RawCommand;
use crate::source::Loc;

pub(super) fn validate_command(
    raw: RawCommand,
    at: &Loc,
    dir: &Path,
    problems: &mut Problems<'_>,
) -> Option<CommandSpec> {
    let RawCommand {
        argv,
        env,
        cwd,
        output_limit,
    } = raw;
    let before = problems.count();
    let argv = match argv {
        None => {
            problems.at(at, "the command probe is missing `argv`");
            Vec::new()
        }
        Some(argv) => {
            match argv.value.first() {
                None => problems.at(&argv.at, "`argv` must name a program: it is empty"),
                Some(program) if program.value.trim().is_empty() => {
                    problems.at(&program.at, "the program in `argv` must not be empty");
                }
                Some(_) => {}
            }
            argv.value.into_iter().map(|arg| arg.value).collect()
        }
    };
    let env = env
        .into_iter()
        .map(|(name, value)| {
            if name.value.is_empty() || name.value.contains(['=', '\0']) {
                problems.at(
                    &name.at,
                    format!("invalid environment variable name {:?}", name.value),
                );
            }
            if value.value.contains('\0') {
                problems.at(
                    &value.at,
                    format!("the value of `{}` contains a NUL byte", name.value),
                );
            }
            (name.value, Secret(value.value))
        })
        .collect();
    let cwd = cwd.map(|cwd| dir.join(cwd.value));
    let output_limit = output_limit
        .and_then(|raw| size(raw, "output_limit", problems))
        .unwrap_or(DEFAULT_OUTPUT_LIMIT);
    if problems.count() > before {
        return None;
    }
    Some(CommandSpec {
        argv,
        env,
        cwd,
        output_limit,
    })
}
