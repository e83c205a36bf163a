package config

import (
	"cmp"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Load reads the configuration through lookup (os.LookupEnv in
// cmd/pooltasks): each field from the variable its envconfig tag names, or
// from its default tag when the variable is unset (an example tag gives the
// fix of a number it cannot read its example). A variable set to "" is
// the empty string for a text field, and unreadable for a number, a duration
// or a boolean.
//
// Load never fails: a value it cannot read leaves the field's default in
// place and becomes an error-level Problem that Validate reports before every
// other, so doctor shows all of them among its other checks and serve and
// digest refuse to start with the same words.
func Load(lookup func(string) (string, bool)) Config {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("envconfig")
		if name == "" {
			continue
		}
		def := f.Tag.Get("default")
		raw, ok := lookup(name)
		if ok && setField(v.Field(i), raw) == nil {
			continue
		}
		if ok {
			c.unreadable = append(c.unreadable, unreadable(name, raw, def, f.Tag.Get("example"), v.Field(i)))
		}
		v.Field(i).SetZero()
		if def == "" {
			continue
		}
		if err := setField(v.Field(i), def); err != nil {
			panic(fmt.Sprintf("config: the default of %s: %v", name, err)) // a mistake in this package
		}
	}
	// The credential variables a targets file names are read later, by
	// Validate, through the same lookup.
	c.Getenv = func(name string) string { s, _ := lookup(name); return s }
	return c
}

// setField parses s into the field by its type.
func setField(f reflect.Value, s string) error {
	if f.Type() == reflect.TypeFor[Scheduling]() {
		return f.Addr().Interface().(*Scheduling).Decode(s)
	}
	if f.Type() == reflect.TypeFor[time.Duration]() {
		d, err := ParseDuration(s)
		if err == nil {
			f.SetInt(int64(d))
		}
		return err
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := ParseBool(s)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		f.SetInt(int64(n))
	case reflect.Float64:
		x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return err
		}
		f.SetFloat(x)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("cannot read a %s", f.Type())
		}
		var list []string
		if strings.TrimSpace(s) != "" {
			for _, e := range strings.Split(s, ",") {
				list = append(list, strings.TrimSpace(e))
			}
		}
		f.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("cannot read a %s", f.Type())
	}
	return nil
}

// unreadable is the Problem of a value Load could not read into field f,
// whose default is def; a number's fix shows example (its example tag),
// else the default.
func unreadable(name, raw, def, example string, f reflect.Value) Problem {
	p := Problem{Var: name, Severity: Error, Detail: fmt.Sprintf("%q is not ", raw)}
	if strings.TrimSpace(raw) == "" {
		p.Detail = "set but empty, which is not "
	}
	orDefault := ", or unset it for the default"
	if def != "" {
		orDefault = ", or unset it for the default " + def
	}
	switch {
	case f.Type() == reflect.TypeFor[time.Duration]():
		p.Detail += "a duration"
		example := cmp.Or(def, "10s")
		if _, err := strconv.ParseFloat(strings.TrimSpace(raw), 64); err == nil {
			p.Detail += ": it has no unit"
			example = strings.TrimSpace(raw) + "s"
		}
		p.Fix = "write a duration such as " + example + orDefault
	case f.Type() == reflect.TypeFor[Scheduling]():
		p.Detail += "true, false or auto"
		p.Fix = "write auto (schedule here, or with Redis take turns by the lease), true or false (yes/no, on/off and 1/0 work too)" + orDefault
	case f.Kind() == reflect.Bool:
		p.Detail += "true or false"
		p.Fix = "write true or false (yes/no, on/off and 1/0 work too)" + orDefault
	case f.Kind() == reflect.Int:
		p.Detail += "a whole number"
		p.Fix = "write a whole number such as " + cmp.Or(example, def, "10") + orDefault
	default:
		p.Detail += "a number"
		p.Fix = "write a number such as " + cmp.Or(example, def, "5") + orDefault
	}
	return p
}

// ParseBool reads a boolean as people write it in an environment: true,
// yes, on, 1 (and t, y) or false, no, off, 0 (and f, n), in any case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "t", "yes", "y", "on", "1":
		return true, nil
	case "false", "f", "no", "n", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

// ParseDuration reads every duration of the configuration: Go's form
// (10s, 1h30m, 500ms) with d for 24-hour days in front (7d, 1d12h), or 0.
// A number without a unit is refused: "10" could mean seconds or minutes.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	rest, neg := in, false
	if r, ok := strings.CutPrefix(rest, "-"); ok {
		rest, neg = r, true
	}
	var days time.Duration
	n, after, hasDays := strings.Cut(rest, "d")
	if hasDays {
		x, err := strconv.ParseFloat(n, 64)
		if err != nil || x < 0 || strings.ContainsAny(n, "+-eE") || x > 100000 {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		days, rest = time.Duration(x*float64(24*time.Hour)), after
	}
	var d time.Duration
	if rest != "" || !hasDays {
		var err error
		if d, err = time.ParseDuration(rest); err != nil || strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
	}
	d += days
	if neg {
		d = -d
	}
	return d, nil
}

// Duration is a time.Duration read by ParseDuration, for command-line
// flags (it is a pflag.Value): `--every 1d` reads as the environment does.
type Duration time.Duration

// Set reads s with ParseDuration.
func (d *Duration) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%w: write a duration such as 10s, 5m or 7d", err)
	}
	*d = Duration(v)
	return nil
}

// String returns the duration in Go's form, e.g. 1m30s.
func (d Duration) String() string { return time.Duration(d).String() }

// Type names the flag's kind in help.
func (Duration) Type() string { return "duration" }
