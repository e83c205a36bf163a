// Package redisstore keeps pooltasks' shared state in Redis (7 or Valkey)
// so that several replicas share it: the same state as the file store
// (package state), under one key prefix, every check-then-write atomic in
// Redis (a Lua script or SET NX). A Store made Fenced carries the
// scheduler's fencing token (see package lease): each of its writes is
// refused by Redis itself once that token no longer holds the lease, so a
// paused old leader never saves over its successor.
//
// Keys (P is the prefix, "pooltasks:" by default):
//
//	P digest:KEY          end of the last digest window posted (RFC 3339)
//	P digest_intent:KEY   hash: the window being posted: "intent" (JSON of state.Intent), "end"
//	P alert:KEY           hash: alerted task id → start (unix ns); field "" marks a key with state
//	P alert_intents:KEY   hash: intent key → JSON of an alert being posted (state.Intent, at_s, tasks)
//	P watches             hash: watch id → JSON of state.Watch
//	P seen:ID             an envelope or event id answered (for the dedupe window)
//	P watch_stops         hash: watch id → user who pressed Stop, until the scheduler takes it
//	P watch_acts          hash: watch id → JSON of a state.WatchAct taken on its message, until the scheduler takes it
//	P charts_refused      "1" once Slack refused chart blocks
//	P lease, P fence      the scheduler lease and its token counter (package lease)
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix when POOLTASKS_REDIS_PREFIX is empty.
const DefaultPrefix = "pooltasks:"

// LeaseKey is the key, under the prefix, of the scheduler lease; its value
// is the holder's fencing token.
const LeaseKey = "lease"

// ErrFenced is a fenced write refused because its token no longer holds the
// scheduler lease: another replica schedules now.
var ErrFenced = errors.New("the scheduler lease was lost: another replica schedules now")

// Store is the state in Redis. It is safe for concurrent use; a Store
// made by Fenced shares its connections.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	token  string // fencing token; empty for writes that are not the scheduler's
}

// Open connects to the Redis at url (redis:// or rediss://, with user,
// password and database as redis.ParseURL reads them) and checks that it
// answers. prefix goes before every key (DefaultPrefix when empty).
func Open(ctx context.Context, url, prefix string) (*Store, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("POOLTASKS_REDIS_URL: %w", err)
	}
	// A Redis that is down fails each operation within seconds (the
	// scheduler must notice before its lease ends), unless the URL says
	// otherwise (dial_timeout=, max_retries=, ...).
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 2 * time.Second
	}
	if opts.DialerRetries == 0 {
		opts.DialerRetries = 1
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 1
	}
	s := New(redis.NewClient(opts), prefix)
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		s.rdb.Close()
		return nil, fmt.Errorf("connecting to redis at %s: %w", opts.Addr, err)
	}
	return s, nil
}

func init() {
	// go-redis logs dial failures to stderr, outside the JSON log; each
	// one comes back to its caller as an error, which the caller logs.
	redis.SetLogger(quiet{})
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// New returns a Store over rdb.
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: prefix}
}

// Client returns the Redis client, for the lease and doctor.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Key returns name under the store's prefix.
func (s *Store) Key(name string) string { return s.prefix + name }

// Close closes the connections (of every Store made by Fenced too).
func (s *Store) Close() error { return s.rdb.Close() }

// Fenced returns the store whose writes hold only while token holds the
// scheduler lease; they fail with ErrFenced after.
func (s *Store) Fenced(token string) *Store {
	c := *s
	c.token = token
	return &c
}

// fence is the head of every write script: KEYS[1] is the lease, ARGV[1]
// the token ("" for a write that is not fenced).
const fence = `if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED lease lost') end
`

// run runs a write script with the lease as KEYS[1] and the token as
// ARGV[1], before keys and args.
func (s *Store) run(ctx context.Context, script *redis.Script, keys []string, args ...any) (any, error) {
	keys = append([]string{s.Key(LeaseKey)}, keys...)
	args = append([]any{s.token}, args...)
	v, err := script.Run(ctx, s.rdb, keys, args...).Result()
	if err != nil && strings.HasPrefix(err.Error(), "FENCED") {
		return nil, ErrFenced
	}
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	return v, err
}

// setScript sets KEYS[2] to ARGV[2].
var setScript = redis.NewScript(fence + `redis.call('SET', KEYS[2], ARGV[2]) return 1`)

// watermarkScript sets KEYS[2] to ARGV[2] unless it holds a later time
// (RFC 3339 in UTC with fixed width compares as text): a watermark never
// goes back. It forgets the intent KEYS[3] if its window ends by then.
var watermarkScript = redis.NewScript(fence + `local e = redis.call('HGET', KEYS[3], 'end')
if e and e <= ARGV[2] then redis.call('DEL', KEYS[3]) end
local old = redis.call('GET', KEYS[2])
if old and old > ARGV[2] then return 0 end
redis.call('SET', KEYS[2], ARGV[2]) return 1`)

// watermarkLayout keeps every watermark the same width, so that text order
// is time order.
const watermarkLayout = "2006-01-02T15:04:05.000000000Z"

// DigestWatermark returns the end of the last window posted for key.
func (s *Store) DigestWatermark(ctx context.Context, key string) (time.Time, bool, error) {
	v, err := s.rdb.Get(ctx, s.Key("digest:"+key)).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading digest watermark: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading digest watermark %q: %w", v, err)
	}
	return t, true, nil
}

// SetDigestWatermark records that the windows of key up to end were
// posted. A later watermark already there stays: the windows up to it were
// posted.
func (s *Store) SetDigestWatermark(ctx context.Context, key string, end time.Time) error {
	if _, err := s.run(ctx, watermarkScript, []string{s.Key("digest:" + key), s.Key("digest_intent:" + key)}, end.UTC().Format(watermarkLayout)); err != nil {
		return fmt.Errorf("saving digest watermark: %w", err)
	}
	return nil
}

// DigestIntent returns the window key's schedule is posting, saved by
// SetDigestIntent and not yet covered by its watermark.
func (s *Store) DigestIntent(ctx context.Context, key string) (state.Intent, bool, error) {
	v, err := s.rdb.HGet(ctx, s.Key("digest_intent:"+key), "intent").Result()
	if errors.Is(err, redis.Nil) {
		return state.Intent{}, false, nil
	}
	if err != nil {
		return state.Intent{}, false, fmt.Errorf("reading the digest being posted: %w", err)
	}
	var in state.Intent
	if err := json.Unmarshal([]byte(v), &in); err != nil {
		return state.Intent{}, false, fmt.Errorf("reading the digest being posted: %w", err)
	}
	return in, true, nil
}

var setIntentScript = redis.NewScript(fence + `redis.call('DEL', KEYS[2]) redis.call('HSET', KEYS[2], 'intent', ARGV[2], 'end', ARGV[3]) return 1`)

// SetDigestIntent saves that key's schedule is about to post the window of
// in (replacing any intent of key before it).
func (s *Store) SetDigestIntent(ctx context.Context, key string, in state.Intent) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encoding the digest being posted: %w", err)
	}
	if _, err := s.run(ctx, setIntentScript, []string{s.Key("digest_intent:" + key)}, string(b), in.End.UTC().Format(watermarkLayout)); err != nil {
		return fmt.Errorf("saving the digest being posted: %w", err)
	}
	return nil
}

// primedField marks an alert key that has state, even with no id in it.
const primedField = ""

// AlertKnown returns the known ids of an alert key and whether the key has
// state at all (false on a fresh start, or after Redis lost its data).
func (s *Store) AlertKnown(ctx context.Context, key string) (map[string]time.Time, bool, error) {
	h, err := s.rdb.HGetAll(ctx, s.Key("alert:"+key)).Result()
	if err != nil {
		return nil, false, fmt.Errorf("reading alerted tasks: %w", err)
	}
	if len(h) == 0 {
		return nil, false, nil
	}
	m := make(map[string]time.Time, len(h))
	for id, v := range h {
		if id == primedField {
			continue
		}
		ns, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, false, fmt.Errorf("reading alerted task %s: %w", id, err)
		}
		m[id] = time.Unix(0, ns).UTC()
	}
	return m, true, nil
}

// addAlertScript adds ARGV[4..] (id, unix ns pairs) to the hash KEYS[2],
// drops ids older than ARGV[2] (unix ns), then the oldest beyond ARGV[3]
// (0: no bound), then the intents of KEYS[3] whose tasks are all known or
// that were saved before the horizon, in one step.
var addAlertScript = redis.NewScript(fence + `local key, horizon, max = KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('HSET', key, '', '1')
for i = 4, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i+1]) end
local all = redis.call('HGETALL', key)
local ids = {}
for i = 1, #all, 2 do
  local id, at = all[i], tonumber(all[i+1])
  if id ~= '' then
    if at < horizon then redis.call('HDEL', key, id) else ids[#ids+1] = {id, at} end
  end
end
if max > 0 and #ids > max then
  table.sort(ids, function(a, b) return a[2] < b[2] end)
  for i = 1, #ids - max do redis.call('HDEL', key, ids[i][1]) end
end
local intents = redis.call('HGETALL', KEYS[3])
for i = 1, #intents, 2 do
  local v = cjson.decode(intents[i+1])
  local done = v.at_s < math.floor(horizon / 1e9)
  if not done then
    done = true
    for _, id in ipairs(v.tasks) do
      if redis.call('HEXISTS', key, id) == 0 then done = false break end
    end
  end
  if done then redis.call('HDEL', KEYS[3], intents[i]) end
end
return 1`)

// AddAlertKnown adds ids (task id → task start) to an alert key's memory,
// then drops ids that started before horizon and the oldest beyond max.
func (s *Store) AddAlertKnown(ctx context.Context, key string, ids map[string]time.Time, horizon time.Time, max int) error {
	args := []any{strconv.FormatInt(horizon.UnixNano(), 10), strconv.Itoa(max)}
	for id, t := range ids {
		args = append(args, id, strconv.FormatInt(t.UnixNano(), 10))
	}
	if _, err := s.run(ctx, addAlertScript, []string{s.Key("alert:" + key), s.Key("alert_intents:" + key)}, args...); err != nil {
		return fmt.Errorf("saving alerted tasks: %w", err)
	}
	return nil
}

// alertIntent is an alert intent as kept in Redis: the intent, and what
// addAlertScript reads of it.
type alertIntent struct {
	Intent state.Intent `json:"intent"`
	AtS    int64        `json:"at_s"`  // Intent.At in unix seconds
	Tasks  []string     `json:"tasks"` // Intent.Tasks' ids
}

// AlertIntents returns the alert posts of key about to be made, saved by
// AddAlertIntent, that AddAlertKnown has not forgotten yet.
func (s *Store) AlertIntents(ctx context.Context, key string) ([]state.Intent, error) {
	h, err := s.rdb.HGetAll(ctx, s.Key("alert_intents:"+key)).Result()
	if err != nil {
		return nil, fmt.Errorf("reading the alerts being posted: %w", err)
	}
	out := make([]state.Intent, 0, len(h))
	for k, v := range h {
		var ai alertIntent
		if err := json.Unmarshal([]byte(v), &ai); err != nil {
			return nil, fmt.Errorf("reading the alert being posted %s: %w", k, err)
		}
		out = append(out, ai.Intent)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

var hsetScript = redis.NewScript(fence + `redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) return 1`)

// AddAlertIntent saves that an alert post of key is about to be made
// (replacing an intent with the same Key).
func (s *Store) AddAlertIntent(ctx context.Context, key string, in state.Intent) error {
	ai := alertIntent{Intent: in, AtS: in.At.Unix(), Tasks: make([]string, 0, len(in.Tasks))}
	for id := range in.Tasks {
		ai.Tasks = append(ai.Tasks, id)
	}
	b, err := json.Marshal(ai)
	if err != nil {
		return fmt.Errorf("encoding the alert being posted: %w", err)
	}
	if _, err := s.run(ctx, hsetScript, []string{s.Key("alert_intents:" + key)}, in.Key, string(b)); err != nil {
		return fmt.Errorf("saving the alert being posted: %w", err)
	}
	return nil
}

// Watches returns the saved watches, oldest first.
func (s *Store) Watches(ctx context.Context) ([]state.Watch, error) {
	h, err := s.rdb.HGetAll(ctx, s.Key("watches")).Result()
	if err != nil {
		return nil, fmt.Errorf("reading watches: %w", err)
	}
	ws := make([]state.Watch, 0, len(h))
	for id, v := range h {
		var w state.Watch
		if err := json.Unmarshal([]byte(v), &w); err != nil {
			return nil, fmt.Errorf("reading watch %s: %w", id, err)
		}
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Started.Before(ws[j].Started) })
	return ws, nil
}

// PutWatch saves a watch.
func (s *Store) PutWatch(ctx context.Context, w state.Watch) error {
	b, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("encoding watch: %w", err)
	}
	if _, err := s.run(ctx, hsetScript, []string{s.Key("watches")}, w.ID, string(b)); err != nil {
		return fmt.Errorf("saving watch %s: %w", w.ID, err)
	}
	return nil
}

// deleteWatchScript deletes the field ARGV[2] of the hash KEYS[2].
var deleteWatchScript = redis.NewScript(fence + `redis.call('HDEL', KEYS[2], ARGV[2]) return 1`)

// DeleteWatch forgets a watch.
func (s *Store) DeleteWatch(ctx context.Context, id string) error {
	if _, err := s.run(ctx, deleteWatchScript, []string{s.Key("watches")}, id); err != nil {
		return fmt.Errorf("forgetting watch %s: %w", id, err)
	}
	return nil
}

// ChartsRefused reports whether Slack refused a chart block before.
func (s *Store) ChartsRefused(ctx context.Context) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.Key("charts_refused")).Result()
	if err != nil {
		return false, fmt.Errorf("reading whether charts are refused: %w", err)
	}
	return n == 1, nil
}

// SetChartsRefused remembers that Slack refuses chart blocks here.
func (s *Store) SetChartsRefused(ctx context.Context) error {
	if _, err := s.run(ctx, setScript, []string{s.Key("charts_refused")}, "1"); err != nil {
		return fmt.Errorf("saving that charts are refused: %w", err)
	}
	return nil
}

// RequestStop records that userID pressed Stop on the watch watchID, for
// the scheduler to take (watch.Requests).
func (s *Store) RequestStop(ctx context.Context, watchID, userID string) error {
	if err := s.rdb.HSet(ctx, s.Key("watch_stops"), watchID, userID).Err(); err != nil {
		return fmt.Errorf("recording the Stop of watch %s: %w", watchID, err)
	}
	return nil
}

// StopRequests returns the Stop presses not taken yet: watch id → user.
func (s *Store) StopRequests(ctx context.Context) (map[string]string, error) {
	m, err := s.rdb.HGetAll(ctx, s.Key("watch_stops")).Result()
	if err != nil {
		return nil, fmt.Errorf("reading Stop presses: %w", err)
	}
	return m, nil
}

// ForgetStop forgets the Stop press of a watch, once taken.
func (s *Store) ForgetStop(ctx context.Context, watchID string) error {
	if _, err := s.run(ctx, deleteWatchScript, []string{s.Key("watch_stops")}, watchID); err != nil {
		return fmt.Errorf("forgetting the Stop of watch %s: %w", watchID, err)
	}
	return nil
}

// requestActScript sets the field ARGV[1] of the hash KEYS[2] to ARGV[2]
// when the watch ARGV[1] is saved in the hash KEYS[1]: once the scheduler
// forgot the watch, no act is recorded that nobody would show.
var requestActScript = redis.NewScript(`if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) return 1`)

// RequestAct records the action a taken on the message of the saved watch
// watchID, for the scheduler to show and save on the watch (watch.Requests);
// false when no such watch is saved. It is a key of its own, so that the
// scheduler's saves of the watch never overwrite it.
func (s *Store) RequestAct(ctx context.Context, watchID string, a state.WatchAct) (bool, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("encoding the action on watch %s: %w", watchID, err)
	}
	n, err := requestActScript.Run(ctx, s.rdb, []string{s.Key("watches"), s.Key("watch_acts")}, watchID, string(b)).Int()
	if err != nil {
		return false, fmt.Errorf("recording the action on watch %s: %w", watchID, err)
	}
	return n == 1, nil
}

// ActRequests returns the actions on watch messages not taken yet: watch
// id → action.
func (s *Store) ActRequests(ctx context.Context) (map[string]state.WatchAct, error) {
	h, err := s.rdb.HGetAll(ctx, s.Key("watch_acts")).Result()
	if err != nil {
		return nil, fmt.Errorf("reading the actions on watch messages: %w", err)
	}
	m := make(map[string]state.WatchAct, len(h))
	for id, v := range h {
		var a state.WatchAct
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			return nil, fmt.Errorf("reading the action on watch %s: %w", id, err)
		}
		m[id] = a
	}
	return m, nil
}

// ForgetAct forgets the action on a watch's message, once taken.
func (s *Store) ForgetAct(ctx context.Context, watchID string) error {
	if _, err := s.run(ctx, deleteWatchScript, []string{s.Key("watch_acts")}, watchID); err != nil {
		return fmt.Errorf("forgetting the action on watch %s: %w", watchID, err)
	}
	return nil
}

// Seen records keys (envelope and event ids) for ttl and reports whether
// none of them was recorded before: the dedupe memory the replicas share
// (bot.Config.Seen). Each key is one SET NX PX.
func (s *Store) Seen(ctx context.Context, keys []string, ttl time.Duration) (bool, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.BoolCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.SetNX(ctx, s.Key("seen:"+k), "1", ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("recording envelope ids: %w", err)
	}
	fresh := true
	for _, c := range cmds {
		fresh = fresh && c.Val()
	}
	return fresh, nil
}
