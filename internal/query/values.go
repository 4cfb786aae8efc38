package query

import (
	"math"
	"math/big"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// This file turns value strings into the typed values of each Kind, with the
// errors that name the field and the value.

func fieldErr(field, value, msg string) error {
	return &FieldError{Field: field, Value: value, Msg: msg}
}

// decimal reports whether v is a plain decimal number: an optional sign,
// digits with an optional fraction, an optional exponent. It rules out the
// hexadecimal, infinite and NaN forms strconv would take.
func decimal(v string) bool {
	i := 0
	if i < len(v) && (v[i] == '-' || v[i] == '+') {
		i++
	}
	digits := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
		digits++
	}
	if i < len(v) && v[i] == '.' {
		i++
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '-' || v[i] == '+') {
			i++
		}
		exp := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(v)
}

// parseLong parses an integer value of a Long field; an integral decimal
// such as 1e3 or 443.0 counts.
func parseLong(field, v string) (int64, error) {
	if n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, 64); err == nil {
		return n, nil
	}
	if !decimal(v) {
		return 0, fieldErr(field, v, "not a number")
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, fieldErr(field, v, "not an integer (the field holds whole numbers)")
	}
	return int64(f), nil
}

// parseNumber parses a number for a Double field, or a range bound of a
// Long field: an int64 when it is an integer, else a float64.
func parseNumber(field, v string, integer bool) (any, error) {
	if integer {
		if n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, 64); err == nil {
			return n, nil
		}
	}
	if !decimal(v) {
		return nil, fieldErr(field, v, "not a number")
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, fieldErr(field, v, "number out of range")
	}
	return f, nil
}

// parseBool parses true or false in any case.
func parseBool(field, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fieldErr(field, v, "not a boolean (true or false)")
}

// parseAddr parses an IP address without a zone.
func parseAddr(field, v string) (netip.Addr, error) {
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fieldErr(field, v, "not an IP address")
	}
	return a, nil
}

// ipNum returns a as a 128-bit number, IPv4 mapped into ::ffff:0:0/96.
func ipNum(a netip.Addr) *big.Int {
	b := a.As16()
	return new(big.Int).SetBytes(b[:])
}

// prefixNums returns the first and last address of p as 128-bit numbers.
func prefixNums(p netip.Prefix) (lo, hi *big.Int) {
	m := p.Masked()
	lo = ipNum(m.Addr())
	bits := m.Bits()
	if m.Addr().Is4() {
		bits += 96
	}
	host := new(big.Int).Lsh(big.NewInt(1), uint(128-bits))
	host.Sub(host, big.NewInt(1))
	hi = new(big.Int).Or(lo, host)
	return lo, hi
}

// isV4 reports whether a is IPv4 or IPv4-mapped IPv6.
func isV4(a netip.Addr) bool { return a.Is4() || a.Is4In6() }

// prefixV4 reports whether p covers only IPv4 (or IPv4-mapped) addresses.
func prefixV4(p netip.Prefix) bool {
	return p.Addr().Is4() || (p.Addr().Is4In6() && p.Bits() >= 96)
}

// isoDate matches the ISO 8601 forms OpenSearch's strict_date_optional_time
// takes: a year, optionally month, day, hour, minute, second and fraction,
// and a zone when there is a time.
var isoDate = regexp.MustCompile(`^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$`)

// relDate matches date math on now: now, then +N or -N with a unit, then an
// optional rounding /unit.
var relDate = regexp.MustCompile(`^now((?:[+-]\d{1,6}[yMwdhHms])*)(?:/([yMwdhHms]))?$`)

var relStep = regexp.MustCompile(`([+-])(\d+)([yMwdhHms])`)

// dateInterval resolves a date value to the interval of epoch milliseconds
// it denotes: an epoch-ms number is one millisecond, an ISO 8601 date the
// span of its least significant part (2024-05-01 is the whole day), now
// math a millisecond, or a span when rounded (now/d). An empty now means
// the current time.
func dateInterval(field, v string, now time.Time) (lo, hi int64, err error) {
	if m := isoDate.FindStringSubmatch(v); m != nil {
		return isoInterval(field, v, m)
	}
	if (v != "" && strings.Trim(v, "0123456789") == "") || (len(v) > 1 && v[0] == '-' && strings.Trim(v[1:], "0123456789") == "") {
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil {
			return 0, 0, fieldErr(field, v, "epoch milliseconds out of range")
		}
		return n, n, nil
	}
	if m := relDate.FindStringSubmatch(v); m != nil {
		if now.IsZero() {
			now = time.Now()
		}
		t := now.UTC()
		for _, s := range relStep.FindAllStringSubmatch(m[1], -1) {
			n, _ := strconv.Atoi(s[2])
			if s[1] == "-" {
				n = -n
			}
			t = addUnit(t, s[3], n)
		}
		if m[2] == "" {
			return t.UnixMilli(), t.UnixMilli(), nil
		}
		start := roundDown(t, m[2])
		end := addUnit(start, m[2], 1)
		return start.UnixMilli(), end.UnixMilli() - 1, nil
	}
	return 0, 0, fieldErr(field, v, "not a date: want ISO 8601 (2024-05-01T10:00:00Z), epoch milliseconds, or now-24h style date math")
}

func isoInterval(field, v string, m []string) (lo, hi int64, err error) {
	num := func(s string, def int) int {
		if s == "" {
			return def
		}
		n, _ := strconv.Atoi(s)
		return n
	}
	year, month, day := num(m[1], 0), num(m[2], 1), num(m[3], 1)
	hour, minute, sec := num(m[4], 0), num(m[5], 0), num(m[6], 0)
	nsec := 0
	if m[7] != "" {
		frac := (m[7] + "000000000")[:9]
		nsec = num(frac, 0)
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return 0, 0, fieldErr(field, v, "not a valid date")
	}
	loc := time.UTC
	if z := m[8]; z != "" && z != "Z" {
		zh := num(z[1:3], 0)
		zm := num(strings.TrimPrefix(z[3:], ":"), 0)
		off := zh*3600 + zm*60
		if z[0] == '-' {
			off = -off
		}
		if zh > 23 || zm > 59 {
			return 0, 0, fieldErr(field, v, "not a valid time zone offset")
		}
		loc = time.FixedZone(z, off)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if t.Day() != day {
		return 0, 0, fieldErr(field, v, "not a valid date")
	}
	var end time.Time
	switch {
	case m[7] != "":
		t = t.Truncate(time.Millisecond)
		end = t.Add(time.Millisecond)
	case m[6] != "":
		end = t.Add(time.Second)
	case m[5] != "":
		end = t.Add(time.Minute)
	case m[4] != "":
		end = t.Add(time.Hour)
	case m[3] != "":
		end = t.AddDate(0, 0, 1)
	case m[2] != "":
		end = t.AddDate(0, 1, 0)
	default:
		end = t.AddDate(1, 0, 0)
	}
	return t.UnixMilli(), end.UnixMilli() - 1, nil
}

func addUnit(t time.Time, unit string, n int) time.Time {
	switch unit {
	case "y":
		return t.AddDate(n, 0, 0)
	case "M":
		return t.AddDate(0, n, 0)
	case "w":
		return t.AddDate(0, 0, 7*n)
	case "d":
		return t.AddDate(0, 0, n)
	case "h", "H":
		return t.Add(time.Duration(n) * time.Hour)
	case "m":
		return t.Add(time.Duration(n) * time.Minute)
	default: // "s"
		return t.Add(time.Duration(n) * time.Second)
	}
}

// roundDown truncates t (UTC) to the start of its unit; weeks start on
// Monday.
func roundDown(t time.Time, unit string) time.Time {
	y, mo, d := t.Date()
	switch unit {
	case "y":
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	case "M":
		return time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC)
	case "w":
		wd := (int(t.Weekday()) + 6) % 7
		return time.Date(y, mo, d-wd, 0, 0, 0, 0, time.UTC)
	case "d":
		return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	case "h", "H":
		return t.Truncate(time.Hour)
	case "m":
		return t.Truncate(time.Minute)
	default:
		return t.Truncate(time.Second)
	}
}

// relative reports whether v is date math on now.
func relative(v string) bool { return strings.HasPrefix(v, "now") }
