//! The CLI's companions: shell completions and man pages, generated from the same definition
//! as `--help`. No Docker needed.

use crate::support::sis;

#[test]
fn completions_for_bash_zsh_and_fish_name_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let run = sis(&["completions", shell]);
        assert_eq!(run.code, 0, "{run:?}");
        for command in ["apply", "plan", "destroy", "status", "lab", "completions"] {
            assert!(
                run.stdout.contains(command),
                "{shell} completion lacks {command}:\n{}",
                run.stdout
            );
        }
    }
    let bash = sis(&["completions", "bash"]);
    assert!(bash.stdout.contains("complete -F _sis"), "{bash:?}");
}

#[test]
fn an_unknown_shell_is_refused_with_the_choices() {
    let run = sis(&["completions", "tcsh"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("possible values: bash"), "{run:?}");
}

#[test]
fn man_pages_cover_every_command_and_carry_the_long_help() {
    let dir = std::env::temp_dir().join(format!("sis-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = sis(&["man", "--out-dir", dir.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    for page in [
        "sis.1",
        "sis-apply.1",
        "sis-plan.1",
        "sis-lab-up.1",
        "sis-destroy.1",
    ] {
        assert!(dir.join(page).is_file(), "no {page} in {}", dir.display());
    }
    let apply = std::fs::read_to_string(dir.join("sis-apply.1")).unwrap();
    assert!(apply.contains(".TH sis-apply 1"), "{apply}");
    assert!(
        apply.contains("idempotently") || apply.contains("converged"),
        "{apply}"
    );
    let _ = std::fs::remove_dir_all(&dir);

    let stdout = sis(&["man"]);
    assert_eq!(stdout.code, 0, "{stdout:?}");
    assert!(stdout.stdout.starts_with(".ie"), "{stdout:?}");
}
