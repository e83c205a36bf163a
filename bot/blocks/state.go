package blocks

import (
	"strings"

	"github.com/slack-go/slack"
)

// StateLostView is what the state store could not read at start (both of
// its files unreadable) and so started without, for StateLost.
type StateLostView struct {
	Dir  string   // the state directory
	Why  string   // why each file was unreadable
	Kept []string // where the unreadable files were kept aside
	// Digests and Alerts say whether this process posts scheduled digests
	// and alerts, whose memory was lost.
	Digests, Alerts bool
}

// StateLost renders the one notice that the saved state was lost: what
// that means for digests, alerts and watches, and where the unreadable
// files are, so that the loss is seen where the team reads the bot.
func StateLost(v StateLostView) (string, []slack.Block) {
	var what []string
	if v.Digests {
		what = append(what, "• *Digests*: windows that ended while pooltasks was down and were not posted yet will not be posted; the schedule starts again at the next window.")
	}
	if v.Alerts {
		what = append(what, "• *Alerts*: re-baselined. Tasks that had already failed are taken as known and not alerted; new failures are alerted as usual.")
	}
	what = append(what, "• *Watches*: the ones running were not resumed; start them again with `/pooltasks watch TASK_ID`.")
	kept := "Nothing was kept aside."
	if len(v.Kept) > 0 {
		names := make([]string, len(v.Kept))
		for i, k := range v.Kept {
			names[i] = code(k, 200)
		}
		kept = "Kept aside for a look: " + strings.Join(names, ", ")
	}
	return fallback("pooltasks lost its saved state in " + v.Dir), []slack.Block{
		header("pooltasks lost its saved state"),
		section("The state in "+code(v.Dir, 200)+" could not be read at start ("+esc(flat(v.Why, 1000), 1000)+"), so pooltasks started without it:\n"+strings.Join(what, "\n"), nil),
		context(kept),
	}
}
