#!/usr/bin/env bash
# Regenerates the README's pictures (docs/img/*.png) from the bot's own Block Kit messages (a
# session on the simulator, and golden files), drawn like Slack's desktop client by blockkit-preview.
#
#   bash docs/screenshots.sh [PATH_TO_BLOCKKIT_PREVIEW]
#
# PATH_TO_BLOCKKIT_PREVIEW defaults to $BLOCKKIT_PREVIEW, then ../shared/tools/blockkit-preview
# (beside the checkout). It needs Node 20+, Debian's chromium, fonts-lato and
# fonts-noto-color-emoji (see that tool's README), and Go.
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

# A real session: serve on the simulator over the fake Slack (TestScreenSession in cmd/pooltasks)
# writes list, details, output, digest and watch as the bot sent them.
mkdir -p "$work/in" docs/img
GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}" go test -count=1 -run '^TestScreenSession$' ./cmd/pooltasks -screens "$work/in" >/dev/null

# Messages no short session reaches (a new failure after start): their golden files.
goldens=(
	"alert:bot/blocks/testdata/TestAlertRootRetryFailedAgainGolden.golden.json"
	"alert-root:bot/blocks/testdata/TestAlertRootAcknowledgedSnoozedGolden.golden.json"
	"alert-thread:bot/blocks/testdata/TestAlertThreadGolden.golden.json"
	"confirm:bot/blocks/testdata/TestConfirmGolden.golden.json"
	"acted:bot/blocks/testdata/TestActedGolden.golden.json"
)
for s in "${goldens[@]}"; do
	name="${s%%:*}" golden="${s#*:}"
	if [[ ! -f "$golden" ]]; then
		echo "missing golden file $golden (for $name.png)" >&2
		exit 1
	fi
	cp "$golden" "$work/in/$name.json"
done

PREVIEW_STRIP=0 PREVIEW_SCALE="${PREVIEW_SCALE:-1}" bash "$work/bkp/render.sh" "$work/in" "$work/out" >/dev/null
rm -f docs/img/*.png
for f in "$work"/in/*.json; do
	name="$(basename "$f" .json)"
	cp "$work/out/$name.png" "docs/img/$name.png"
	echo "docs/img/$name.png"
done
