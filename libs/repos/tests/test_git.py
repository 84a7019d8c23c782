"""The git helper: argv-only subprocesses, isolated from the user's configuration, with errors that explain."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from agentworks_repos import GitError, GitRemote, git_env, git_text, run_git
from agentworks_repos.git import remote_options


async def test_a_failing_command_raises_with_gits_own_message(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        await run_git("rev-parse", "HEAD", cwd=tmp_path)
    assert caught.value.exit_code != 0
    assert "not a git repository" in caught.value.stderr


async def test_unchecked_commands_answer_their_exit_code(tmp_path: Path) -> None:
    result = await run_git("rev-parse", "HEAD", cwd=tmp_path, check=False)
    assert result.exit_code == 128


async def test_user_configuration_and_outer_repositories_are_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Someone Else\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    env = git_env()
    assert "GIT_DIR" not in env
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_CONFIG_NOSYSTEM"] == "1"
    await run_git("init", "--quiet", str(tmp_path / "work"))
    configured = await run_git("config", "user.name", cwd=tmp_path / "work", check=False)
    assert configured.exit_code == 1  # not set: ~/.gitconfig was not read


async def test_arguments_are_never_interpreted_by_a_shell(tmp_path: Path) -> None:
    await run_git("init", "--quiet", str(tmp_path / "work"))
    await run_git("config", "aw.note", "$(touch pwned); `touch pwned`", cwd=tmp_path / "work")
    assert await git_text("config", "aw.note", cwd=tmp_path / "work") == "$(touch pwned); `touch pwned`"
    assert not (tmp_path / "work" / "pwned").exists()


async def test_standard_input_reaches_git(tmp_path: Path) -> None:
    await run_git("init", "--quiet", "--bare", str(tmp_path / "bare.git"))
    sha = await git_text("hash-object", "-w", "--stdin", cwd=tmp_path / "bare.git")
    assert sha == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # the empty blob: stdin was closed, not inherited
    result = await run_git("hash-object", "--stdin", cwd=tmp_path / "bare.git", stdin=b"hello\n")
    assert result.text.strip() == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_a_remote_with_a_header_passes_it_for_its_url_only_and_hides_it_in_its_repr() -> None:
    remote = GitRemote(
        "https://git.example/p.git", "Authorization: Bearer s3cret", (("http.followRedirects", "false"),)
    )
    assert remote_options(remote) == [
        "-c",
        "http.followRedirects=false",
        "-c",
        "http.https://git.example/p.git.extraHeader=Authorization: Bearer s3cret",
    ]
    assert remote_options(GitRemote("/srv/p.git")) == []
    assert "s3cret" not in repr(remote)


async def test_a_remote_that_does_not_answer_in_time_is_given_up_with_git_killed(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts the connection and never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/p.git"
        remote = GitRemote(url, None, (), "http", 1.0)
        result = await run_git("ls-remote", url, remote=remote, check=False)
    finally:
        listener.close()
    assert result.exit_code == -1
    assert "did not answer within 1 seconds" in result.stderr.decode()


async def test_a_remote_limited_to_https_refuses_any_other_protocol(tmp_path: Path) -> None:
    await run_git("init", "--quiet", "--bare", str(tmp_path / "p.git"))
    remote = GitRemote(f"file://{tmp_path / 'p.git'}", None, (), "https", 30.0)
    with pytest.raises(GitError, match="transport 'file' not allowed"):
        await run_git("ls-remote", remote.url, remote=remote)


async def test_an_error_message_never_carries_the_remotes_credential(tmp_path: Path) -> None:
    remote = GitRemote(str(tmp_path / "missing.git"), "Authorization: Bearer s3cret")
    with pytest.raises(GitError) as caught:
        await run_git("ls-remote", remote.url, remote=remote)
    assert "s3cret" not in str(caught.value)
    assert "s3cret" not in " ".join(caught.value.argv)


async def test_status_and_diff_never_look_inside_a_nested_repository(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    outer, nested = tmp_path / "outer", tmp_path / "outer" / "vendor" / "lib"
    nested.mkdir(parents=True)
    identity = ("-c", "user.name=a", "-c", "user.email=a@b")
    await run_git("init", "--quiet", str(outer))
    await run_git("init", "--quiet", cwd=nested)
    await run_git("config", "filter.x.clean", f"sh -c 'touch {marker}; cat'", cwd=nested)
    (nested / ".gitattributes").write_text("* filter=x\n")
    (nested / "f").write_text("hi\n")
    await run_git("add", ".", cwd=nested)
    await run_git(*identity, "commit", "--quiet", "-m", "nested", cwd=nested)
    await run_git("add", "--all", cwd=outer)  # the nested repository, tracked as a gitlink
    await run_git(*identity, "commit", "--quiet", "-m", "outer", cwd=outer)
    marker.unlink()
    (nested / "f").write_text("changed\n")  # a dirty submodule: git would run ``status`` inside it to say so
    await run_git("status", "--porcelain", cwd=outer)
    await run_git("diff", "HEAD", cwd=outer)
    await run_git("stash", "list", cwd=outer)
    assert not marker.exists()
