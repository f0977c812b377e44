# The command-line reference docs/cli.md cannot fall behind the help texts, and nothing in
# the repository points outside it.
source "$(dirname "$0")/lib.sh" "$@"
ROOT=$(cd "$TESTS/.." && pwd)
CLI_MD=$ROOT/docs/cli.md

[ -f "$CLI_MD" ] || fail "$CLI_MD is missing"

# The commands, as the top-level help lists them.
expect_ok --help
commands=$(printf '%s\n' "$out" | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
expect_eq "commands in --help" "$(echo $commands)" "bucket bias attn visualize inspect resize train eval"

# Long option names at the start of a help line: "  -o,--output TEXT=-  ..." -> --output.
options_of() { printf '%s\n' "$1" | grep -E '^ +(-[a-zA-Z],)?--[a-z]' | sed -E 's/^ +(-[a-zA-Z],)?(--[a-z0-9-]+).*/\2/'; }

# check_help WHAT: the help text in $out names docs/cli.md, and docs/cli.md every option in it.
check_help() {
    case $out in
    *docs/cli.md*) pass ;;
    *) fail "$1 --help does not name docs/cli.md" ;;
    esac
    local option
    for option in $(options_of "$out"); do
        if grep -qE -- "${option}([^a-z0-9-]|\$)" "$CLI_MD"; then
            pass
        else
            fail "$1 --help lists $option, which docs/cli.md does not mention"
        fi
    done
}

check_help rpbtool
for c in $commands; do
    expect_ok "$c" --help
    check_help "rpbtool $c"
    # The footer points at the section of the command.
    if grep -q "^## \`rpbtool $c" "$CLI_MD"; then pass; else fail "docs/cli.md has no section 'rpbtool $c'"; fi
done

# No tracked file names a folder of the machine the project was built on (spelt in pieces
# here, so that this file does not match itself).
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    for pattern in "/work"'/' "shared"'/spec'; do
        found=$(git -C "$ROOT" grep -I -l -F -e "$pattern" -- . ':!tests/golden' 2>/dev/null)
        expect_eq "tracked files naming '$pattern'" "$found" ""
    done
else
    echo "test_docs: not a git checkout: the tracked-file check is skipped"
fi

finish
