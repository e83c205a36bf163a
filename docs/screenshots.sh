#!/usr/bin/env bash
# Regenerates the README's pictures (docs/img/*.png) from the bot's own Block Kit golden files,
# drawn like Slack's desktop client by blockkit-preview.
#
#   bash docs/screenshots.sh [PATH_TO_BLOCKKIT_PREVIEW]
#
# PATH_TO_BLOCKKIT_PREVIEW defaults to $BLOCKKIT_PREVIEW, then ../shared/tools/blockkit-preview
# (beside the checkout). It needs Node 20+, Debian's chromium, fonts-lato and
# fonts-noto-color-emoji (see that tool's README). The golden files are written by
# `go test ./bot/... -update`: change a message, update its golden file, run this.
set -euo pipefail
cd "$(dirname "$0")/.."

tool="${1:-${BLOCKKIT_PREVIEW:-../shared/tools/blockkit-preview}}"
if [[ ! -f "$tool/render.sh" ]]; then
	echo "blockkit-preview not found at $tool: pass its path as the first argument" >&2
	exit 2
fi

# The tool writes node_modules/ and dist/ beside its sources: use a private copy.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$tool" "$work/bkp"

# picture name → golden file. The order is the README's.
shots=(
	"list:bot/blocks/testdata/TestListGolden.golden.json"
	"details:bot/blocks/testdata/TestTaskGolden.golden.json"
	"output:bot/blocks/testdata/TestOutputGolden.golden.json"
	"digest:bot/blocks/testdata/TestDigestGoldenFailures.golden.json"
	"watch:bot/blocks/testdata/TestWatchGoldenRunning.golden.json"
	"watch-ended:bot/blocks/testdata/TestWatchGoldenEnded.golden.json"
	"alert:bot/blocks/testdata/TestAlertGolden.golden.json"
)

mkdir -p "$work/in" docs/img
for s in "${shots[@]}"; do
	name="${s%%:*}" golden="${s#*:}"
	if [[ ! -f "$golden" ]]; then
		echo "missing golden file $golden (for $name.png)" >&2
		exit 1
	fi
	cp "$golden" "$work/in/$name.json"
done

PREVIEW_STRIP=0 PREVIEW_SCALE="${PREVIEW_SCALE:-1}" bash "$work/bkp/render.sh" "$work/in" "$work/out" >/dev/null
for s in "${shots[@]}"; do
	name="${s%%:*}"
	cp "$work/out/$name.png" "docs/img/$name.png"
	echo "docs/img/$name.png"
done
