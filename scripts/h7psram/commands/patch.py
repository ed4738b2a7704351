"""``west patch``: list, apply and clean the patches in ``patches/patches.yml``."""

from __future__ import annotations

import argparse
from pathlib import Path

from west.commands import WestCommand

from h7psram import patch as patchlib
from h7psram.errors import as_h7, CheckFailed, USER_ERRORS

_DESCRIPTION = """\
Manage the patches this workspace makes to its west projects (MicroPython).

The patches are listed in patches/patches.yml (Zephyr's format). Subcommands:

  list   show every patch and whether it is applied, not applied, or conflicts
  apply  apply the patches not applied yet; all or nothing
  clean  reverse the applied patches; all or nothing

apply first checks every sha256sum and runs 'git apply --check' for every patch; a
project whose local edits conflict is left untouched and named. clean reverses only
our patches, so other local edits survive; 'clean --force' instead checks out the
files our patches touch at the project's pinned revision (manifest-rev).

Every path a patch names must stay inside its project (symlinks followed), or the
patch is refused before anything is done. A run that was killed half-way is rolled
back by the next apply or clean before it does anything else.

Exit codes: 0 ok, 1 a patch does not apply or conflicts (for list: a patch conflicts or
its sha256sum does not match), 2 unusable input.
"""


class Patch(WestCommand):
    def __init__(self) -> None:
        super().__init__("patch", "list, apply or clean patches to west projects",
                         _DESCRIPTION)

    def do_add_parser(self, parser_adder):  # type: ignore[no-untyped-def]
        parser = parser_adder.add_parser(
            self.name, help=self.help, description=self.description,
            formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("-b", "--patch-base", type=Path, metavar="DIR",
                            help="directory holding the patch files "
                                 "(default: patches/ of the manifest repository)")
        parser.add_argument("-l", "--patch-yml", type=Path, metavar="FILE",
                            help="patches.yml to use (default: <patch-base>/patches.yml)")
        sub = parser.add_subparsers(dest="subcommand", metavar="<subcommand>", required=True)

        def with_module(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
            p.add_argument("-m", "--module", action="append", metavar="MODULE", default=[],
                           help="only patches for this west project (repeatable)")
            return p

        with_module(sub.add_parser("list", help="show patches and their state"))
        apply_p = with_module(sub.add_parser("apply", help="apply patches, all or nothing"))
        apply_p.add_argument("-r", "--roll-back", action="store_true",
                             help="accepted for Zephyr compatibility: a failed apply is "
                                  "always rolled back")
        clean_p = with_module(sub.add_parser("clean", help="reverse applied patches"))
        clean_p.add_argument("--force", action="store_true",
                             help="check out the patched files at the pinned revision "
                                  "instead of reversing the patches (local edits to those "
                                  "files are lost)")
        return parser

    def do_run(self, args, unknown):  # type: ignore[no-untyped-def]
        base = args.patch_base or Path(self.manifest.projects[0].abspath) / "patches"
        yml = args.patch_yml or base / "patches.yml"
        modules = {p.name: Path(p.abspath) for p in self.manifest.projects}
        try:
            patch_set = patchlib.load_patch_set(yml, base)
            if args.subcommand == "list":
                self._list(patch_set, modules, args.module)
            elif args.subcommand == "apply":
                self._apply(patch_set, modules, args.module)
            else:
                self._clean(patch_set, modules, args.module, args.force)
        except USER_ERRORS as caught:
            err = as_h7(caught)
            self.die(str(err), exit_code=err.exit_code)

    def _list(self, patch_set: patchlib.PatchSet, modules: dict[str, Path],
              only: list[str]) -> None:
        states = patchlib.patch_states(patch_set, modules, only)
        if not states:
            self.inf(f"no patches{self._for(only)} in {patch_set.yml}")
            return
        rows = [("STATE", "MODULE", "PATCH", "UPSTREAMABLE")]
        rows += [(s.state, s.entry.module, s.entry.path,
                  "yes" if s.entry.upstreamable else "no") for s in states]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for r in rows:
            self.inf("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
        bad = 0
        for s in states:
            if s.state == patchlib.CONFLICTS:
                bad += 1
                self.wrn(f"{s.entry.path}: conflicts in module '{s.entry.module}' at "
                         f"{s.detail}")
            elif s.state == patchlib.BAD_CHECKSUM:
                bad += 1
                self.wrn(s.detail)
        if bad:
            raise CheckFailed(f"{bad} of {len(states)} patches conflict or have a wrong "
                              "sha256sum")

    def _apply(self, patch_set: patchlib.PatchSet, modules: dict[str, Path],
               only: list[str]) -> None:
        outcome = patchlib.apply_patches(patch_set, modules, only,
                                         on_module_done=self._done("applied"))
        self._recovered(outcome)
        self._summary(outcome, "applied", "already applied", only)

    def _clean(self, patch_set: patchlib.PatchSet, modules: dict[str, Path],
               only: list[str], force: bool) -> None:
        if force:
            revisions = {p.name: "manifest-rev" for p in self.manifest.projects[1:]}
            self._recovered(patchlib.restore_pinned(
                patch_set, modules, revisions, only,
                on_module_done=self._done("restored files of")))
            return
        try:
            outcome = patchlib.clean_patches(patch_set, modules, only,
                                             on_module_done=self._done("reversed"))
            self._recovered(outcome)
        except CheckFailed as err:
            raise CheckFailed(f"{err}; 'west patch clean --force' puts the patched files "
                              "back to the pinned revision, losing edits to them") from None
        self._summary(outcome, "reversed", "not applied", only)

    def _recovered(self, outcome: patchlib.Outcome) -> None:
        for module, verb in outcome.recovered:
            self.wrn(f"{module}: an interrupted 'west patch {verb}' was rolled back first")

    def _done(self, verb: str):  # type: ignore[no-untyped-def]
        def report(module: str, tree: Path, entries: list[patchlib.PatchEntry]) -> None:
            for e in entries:
                self.inf(f"{module}: {verb} {e.path}")
        return report

    def _summary(self, outcome: patchlib.Outcome, verb: str, skipped: str,
                 only: list[str]) -> None:
        changed = sum(len(v) for v in outcome.changed.values())
        if not changed and not outcome.skipped:
            self.inf(f"no patches{self._for(only)}")
            return
        self.inf(f"{verb} {changed}, {skipped} {len(outcome.skipped)}")

    @staticmethod
    def _for(only: list[str]) -> str:
        return f" for {', '.join(only)}" if only else ""
