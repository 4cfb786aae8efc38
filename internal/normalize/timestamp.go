package normalize

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/logtype"
)

// errNoTimeFormat means no configured format could read a timestamp.
var errNoTimeFormat = errors.New("timestamp does not match the configured format")

// ParseTime reads s with the given format the way es-loader does. tz is
// the zone assumed when s has none (timestamp_tz); now is used by the
// syslog format, which has no year.
func ParseTime(s string, f logtype.TimeFormat, tz *time.Location, now time.Time) (time.Time, error) {
	if tz == nil {
		tz = time.UTC
	}
	switch f.Kind {
	case logtype.TimeFormatEpoch:
		return parseEpoch(s, tz)
	case logtype.TimeFormatISO8601:
		return ParseISO8601(s, tz)
	case logtype.TimeFormatSyslog:
		return parseSyslog(s, tz, now)
	case logtype.TimeFormatStrftime:
		return parseStrftime(s, f.Layout, tz)
	}
	return time.Time{}, errNoTimeFormat
}

// parseEpoch reads seconds, milliseconds (above 1e12) or microseconds
// (above 1e15) since 1970, with fractions.
func parseEpoch(s string, tz *time.Location) (time.Time, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("epoch time %q: %w", s, errNoTimeFormat)
	}
	switch {
	case f > 1e15:
		f /= 1e6
	case f > 1e12:
		f /= 1e3
	}
	sec := int64(f)
	usec := int64((f-float64(sec))*1e6 + 0.5)
	if usec >= 1e6 {
		sec++
		usec -= 1e6
	}
	return time.Unix(sec, usec*1000).In(tz), nil
}

// ParseISO8601 reads the ISO 8601 forms Python 3.11's
// datetime.fromisoformat accepts: a date (YYYY-MM-DD or YYYYMMDD), an
// optional time after any one separator character (HH[:MM[:SS[.f+]]]) and
// an optional zone (Z, ±HH, ±HH:MM, ±HHMM, ±HH:MM:SS). Times without a
// zone are in tz. Fractions beyond microseconds are truncated.
func ParseISO8601(s string, tz *time.Location) (time.Time, error) {
	bad := func() (time.Time, error) {
		return time.Time{}, fmt.Errorf("ISO 8601 time %q: %w", s, errNoTimeFormat)
	}
	var year, month, day int
	var ok bool
	var rest string
	switch {
	case len(s) >= 10 && s[4] == '-' && s[7] == '-':
		if year, ok = atoiN(s[0:4]); !ok {
			return bad()
		}
		if month, ok = atoiN(s[5:7]); !ok {
			return bad()
		}
		if day, ok = atoiN(s[8:10]); !ok {
			return bad()
		}
		rest = s[10:]
	case len(s) >= 8:
		if year, ok = atoiN(s[0:4]); !ok {
			return bad()
		}
		if month, ok = atoiN(s[4:6]); !ok {
			return bad()
		}
		if day, ok = atoiN(s[6:8]); !ok {
			return bad()
		}
		rest = s[8:]
	default:
		return bad()
	}
	var hh, mm, ss, usec int
	loc := tz
	if rest != "" {
		rest = rest[1:] // any separator character
		if len(rest) < 2 {
			return bad()
		}
		if hh, ok = atoiN(rest[:2]); !ok {
			return bad()
		}
		rest = rest[2:]
		// Extended (HH:MM:SS) or basic (HHMMSS) form.
		sep := len(rest) >= 3 && rest[0] == ':'
		width := 2
		if sep {
			width = 3
		}
		if len(rest) >= width && (sep || isDigit2(rest)) {
			if mm, ok = atoiN(rest[width-2 : width]); !ok {
				return bad()
			}
			rest = rest[width:]
			if len(rest) >= width && (sep && rest[0] == ':' || !sep && isDigit2(rest)) {
				if ss, ok = atoiN(rest[width-2 : width]); !ok {
					return bad()
				}
				rest = rest[width:]
				if len(rest) > 1 && (rest[0] == '.' || rest[0] == ',') {
					j := 1
					for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
						j++
					}
					if j == 1 {
						return bad()
					}
					frac := rest[1:j]
					if len(frac) > 6 {
						frac = frac[:6]
					}
					usec, _ = atoiN(frac)
					for k := len(frac); k < 6; k++ {
						usec *= 10
					}
					rest = rest[j:]
				}
			}
		}
		if rest != "" {
			l, err := parseZone(rest)
			if err != nil {
				return bad()
			}
			loc = l
		}
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 59 {
		return bad()
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, usec*1000, loc)
	if t.Day() != day {
		return bad()
	}
	return t, nil
}

// parseZone reads Z, ±HH, ±HH:MM, ±HHMM or ±HH:MM:SS.
func parseZone(z string) (*time.Location, error) {
	if z == "Z" || z == "z" {
		return time.UTC, nil
	}
	if len(z) < 3 || (z[0] != '+' && z[0] != '-') {
		return nil, errNoTimeFormat
	}
	sign := 1
	if z[0] == '-' {
		sign = -1
	}
	digits := strings.ReplaceAll(z[1:], ":", "")
	if len(digits) != 2 && len(digits) != 4 && len(digits) != 6 {
		return nil, errNoTimeFormat
	}
	h, ok1 := atoiN(digits[:2])
	m, ok2 := 0, true
	if len(digits) >= 4 {
		m, ok2 = atoiN(digits[2:4])
	}
	sec, ok3 := 0, true
	if len(digits) == 6 {
		sec, ok3 = atoiN(digits[4:6])
	}
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 {
		return nil, errNoTimeFormat
	}
	return FixedZone(sign * (h*3600 + m*60 + sec)), nil
}

// FixedZone returns a location for a UTC offset in seconds, sharing
// time.UTC for zero so that formatting can tell it apart cheaply.
func FixedZone(offset int) *time.Location {
	if offset == 0 {
		return time.UTC
	}
	return time.FixedZone("", offset)
}

// isDigit2 reports whether s starts with two ASCII digits.
func isDigit2(s string) bool {
	return len(s) >= 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9'
}

// atoiN parses a short run of ASCII digits.
func atoiN(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

var syslogMonths = map[string]time.Month{
	"Jan": time.January, "Feb": time.February, "Mar": time.March, "Apr": time.April,
	"May": time.May, "Jun": time.June, "Jul": time.July, "Aug": time.August,
	"Sep": time.September, "Oct": time.October, "Nov": time.November, "Dec": time.December,
}

// parseSyslog reads "Jan _2 15:04:05[.ffffff]" and picks the year so that
// the time is not more than 12 hours in the future.
func parseSyslog(s string, tz *time.Location, now time.Time) (time.Time, error) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return time.Time{}, fmt.Errorf("syslog time %q: %w", s, errNoTimeFormat)
	}
	mon, ok := syslogMonths[f[0]]
	day, ok2 := atoiN(f[1])
	if !ok || !ok2 {
		return time.Time{}, fmt.Errorf("syslog time %q: %w", s, errNoTimeFormat)
	}
	clock, frac, _ := strings.Cut(f[2], ".")
	parts := strings.Split(clock, ":")
	if len(parts) != 3 {
		return time.Time{}, fmt.Errorf("syslog time %q: %w", s, errNoTimeFormat)
	}
	hh, ok3 := atoiN(parts[0])
	mm, ok4 := atoiN(parts[1])
	ss, ok5 := atoiN(parts[2])
	if !ok3 || !ok4 || !ok5 {
		return time.Time{}, fmt.Errorf("syslog time %q: %w", s, errNoTimeFormat)
	}
	usec := 0
	if frac != "" {
		if len(frac) > 6 {
			frac = frac[:6]
		}
		usec, _ = atoiN(frac)
		for k := len(frac); k < 6; k++ {
			usec *= 10
		}
	}
	limit := now.Add(12 * time.Hour)
	t := time.Date(limit.Year(), mon, day, hh, mm, ss, usec*1000, tz)
	if t.After(limit) {
		t = t.AddDate(-1, 0, 0)
	}
	return t, nil
}

// parseStrftime reads s with a Python strptime layout.
func parseStrftime(s, layout string, tz *time.Location) (time.Time, error) {
	goLayout, err := StrftimeToGo(layout)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.ParseInLocation(goLayout, s, tz)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q with layout %q: %w", s, layout, errNoTimeFormat)
	}
	return t, nil
}

// StrftimeToGo converts a Python strftime/strptime layout to a Go layout.
func StrftimeToGo(layout string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(layout); i++ {
		c := layout[i]
		if c != '%' || i+1 == len(layout) {
			b.WriteByte(c)
			continue
		}
		i++
		switch layout[i] {
		case 'Y':
			b.WriteString("2006")
		case 'y':
			b.WriteString("06")
		case 'm':
			b.WriteString("01")
		case 'd':
			b.WriteString("02")
		case 'e':
			b.WriteString("_2")
		case 'H':
			b.WriteString("15")
		case 'I':
			b.WriteString("03")
		case 'M':
			b.WriteString("04")
		case 'S':
			b.WriteString("05")
		case 'f':
			b.WriteString("000000")
		case 'p':
			b.WriteString("PM")
		case 'b', 'h':
			b.WriteString("Jan")
		case 'B':
			b.WriteString("January")
		case 'a':
			b.WriteString("Mon")
		case 'A':
			b.WriteString("Monday")
		case 'z':
			b.WriteString("-0700")
		case 'Z':
			b.WriteString("MST")
		case 'j':
			b.WriteString("002")
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("timestamp_format %q: directive %%%c is not supported", layout, layout[i])
		}
	}
	return b.String(), nil
}

// AppendISOFormat appends t as Python's datetime.isoformat() writes an
// aware datetime: 2006-01-02T15:04:05[.ffffff]+hh:mm, microseconds only when
// not zero.
func AppendISOFormat(dst []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hh, mm, ss := t.Clock()
	dst = appendInt(dst, year, 4)
	dst = append(dst, '-')
	dst = appendInt(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendInt(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendInt(dst, hh, 2)
	dst = append(dst, ':')
	dst = appendInt(dst, mm, 2)
	dst = append(dst, ':')
	dst = appendInt(dst, ss, 2)
	if us := t.Nanosecond() / 1000; us != 0 {
		dst = append(dst, '.')
		dst = appendInt(dst, us, 6)
	}
	_, off := t.Zone()
	if off < 0 {
		dst = append(dst, '-')
		off = -off
	} else {
		dst = append(dst, '+')
	}
	dst = appendInt(dst, off/3600, 2)
	dst = append(dst, ':')
	dst = appendInt(dst, off%3600/60, 2)
	if s := off % 60; s != 0 {
		dst = append(dst, ':')
		dst = appendInt(dst, s, 2)
	}
	return dst
}

func appendInt(dst []byte, v, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for v >= 10 || width > 1 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	i--
	buf[i] = byte('0' + v)
	return append(dst, buf[i:]...)
}
