// Package linux holds what is particular to Linux syslog documents
// (/var/log/secure and /var/log/messages): the user, source address and
// outcome of sshd and sudo messages, the EC2 instance id found in the
// CloudWatch Logs stream name and, for the general syslog type, the move of
// authentication messages to the secure index.
package linux

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/vigil-siem/vigil/internal/normalize"
)

// SecureIndex is the index of authentication messages.
const SecureIndex = "log-linux-secure"

// sshdPatterns are tried in order on an sshd message; the first that
// matches gives the action, user, source_ip and source_port it captures.
var sshdPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?P<action>Accepted|Failed|failure|Invalid user|invalid user)\s.*?((publickey|password|none) for )?(invalid user )?(?P<user>\S+)(\s+from.*?(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}))?(\s+port\s+(?P<source_port>\d+))?`),
	regexp.MustCompile(`^(?P<action>(Disconnected|Received disconnect)) from (?P<source_ip>[^ ]*) port (?P<source_port>\d+)`),
	regexp.MustCompile(`^(?P<action>error): AuthorizedKeysCommand \S+ (?P<user>\S+) (SHA|RSA)`),
	regexp.MustCompile(`^pam_unix(\S+): (?P<action>session closed) for user (?P<user>\S+)`),
	regexp.MustCompile(`^pam_unix(\S+): (?P<action>session opened) for user \S+ by (?P<user>\S*)\(`),
	regexp.MustCompile(`^(?P<action>Connection (reset|closed))\s+by\s+(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\s+port\s+(?P<source_port>\d+)`),
	regexp.MustCompile(`.+\s+(from|with)\s+(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\s+port\s+(?P<source_port>\d+)`),
	regexp.MustCompile(`^(?P<action>reverse mapping checking).*\[(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\]`),
	regexp.MustCompile(`\s(?P<source_ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\s`),
}

// sudoPatterns are tried in order on a sudo message.
var sudoPatterns = []*regexp.Regexp{
	regexp.MustCompile(`^(?P<user>\S+) : .*COMMAND=(?P<action>.*)`),
	regexp.MustCompile(`^pam_unix(\S+): (?P<action>session closed) for user (?P<user>\S+)`),
	regexp.MustCompile(`^pam_unix(\S+): (?P<action>session opened) for user \S+ by (?P<user>\S*)\(`),
}

// instanceRe finds an EC2 instance id in a log stream name.
var instanceRe = regexp.MustCompile(`(\W|_|^)(i-([0-9a-z]{8}|[0-9a-z]{17}))(\W|_|$)`)

// SecureScript is the linux-secure transform.
type SecureScript struct{}

// SyslogScript is the linux-os-syslog transform: the linux-secure fields,
// and sshd, sudo and su messages go to the secure index.
type SyslogScript struct{}

// paths lists the record fields both transforms read.
var paths = []string{"proc", "syslog_message", "hostname", "@log_stream"}

// Paths lists the record fields the transform reads.
func (SecureScript) Paths() []string { return paths }

// Paths lists the record fields the transform reads.
func (SyslogScript) Paths() []string { return paths }

// Transform adds the authentication fields.
func (SecureScript) Transform(d *normalize.Doc) error {
	transform(d)
	return nil
}

// Transform adds the authentication fields and picks the secure index for
// authentication messages.
func (SyslogScript) Transform(d *normalize.Doc) error {
	proc := transform(d)
	if strings.Contains(proc, "sshd") || strings.Contains(proc, "sudo") || proc == "su" {
		d.Index = SecureIndex
	}
	return nil
}

// match is what one pattern captured: a group that is part of the pattern
// is present even when it did not take part in the match (then ok is
// false).
type match map[string]struct {
	val string
	ok  bool
}

// value returns a captured group's text; "" when it is absent or did not
// take part in the match.
func (m match) value(name string) string { return m[name].val }

func (m match) has(name string) bool {
	_, ok := m[name]
	return ok
}

// firstMatch applies the patterns in order and returns the captures of the
// first that matches, or nil.
func firstMatch(patterns []*regexp.Regexp, msg string) match {
	for _, re := range patterns {
		loc := re.FindStringSubmatchIndex(msg)
		if loc == nil {
			continue
		}
		m := match{}
		for i, name := range re.SubexpNames() {
			if name == "" {
				continue
			}
			var g struct {
				val string
				ok  bool
			}
			if loc[2*i] >= 0 {
				g.val, g.ok = msg[loc[2*i]:loc[2*i+1]], true
			}
			m[name] = g
		}
		return m
	}
	return nil
}

// transform sets the fields shared by both types and returns the process
// name.
func transform(d *normalize.Doc) string {
	ov := d.ECS
	proc := d.Str("proc")
	stream := ov.String("@log_stream")
	if stream == "" {
		stream = d.Str("@log_stream")
	}
	if m := instanceRe.FindStringSubmatch(stream); m != nil {
		ov.SetString("cloud.instance.id", m[2])
		hosts := []string{m[2]}
		if h := d.Str("hostname"); h != "" {
			hosts = []string{h, m[2]}
		}
		ov.SetStrings("related.hosts", hosts)
	}
	msg := d.Str("syslog_message")
	var user, ip string
	switch {
	case strings.Contains(proc, "sshd"):
		ov.SetString("event.module", "secure")
		m := firstMatch(sshdPatterns, msg)
		user = m.value("user")
		if m.has("source_ip") {
			ip = m.value("source_ip")
			if _, err := netip.ParseAddr(ip); err != nil {
				ip = ""
			}
			if ip != "" {
				ov.SetString("source.ip", ip)
			}
			if p, err := strconv.ParseInt(m.value("source_port"), 10, 32); err == nil {
				ov.SetInt("source.port", p)
			}
		}
		if m["action"].ok {
			action := m.value("action")
			ov.SetString("event.category", "authentication")
			ov.SetString("event.action", action)
			if outcome := outcomeOf(action); outcome != "" {
				ov.SetString("event.outcome", outcome)
			}
		}
	case strings.Contains(proc, "sudo"):
		m := firstMatch(sudoPatterns, msg)
		user = m.value("user")
		if m["action"].ok {
			ov.SetString("event.action", m.value("action"))
			ov.SetString("event.outcome", "success")
		} else {
			ov.SetString("event.module", "secure")
		}
	}
	if user != "" {
		ov.SetString("user.name", user)
		ov.SetStrings("related.user", []string{user})
	}
	if ip != "" {
		ov.SetStrings("related.ip", []string{ip})
	}
	return proc
}

// outcomeOf classifies an sshd action: accepted or opened is a success,
// failed, invalid or an error a failure, a disconnection has no outcome,
// anything else is unknown.
func outcomeOf(action string) string {
	a := strings.ToLower(action)
	switch {
	case strings.Contains(a, "accept") || strings.Contains(a, "opened"):
		return "success"
	case strings.Contains(a, "fail") || strings.Contains(a, "invalid") || strings.Contains(a, "err"):
		return "failure"
	case strings.Contains(a, "disconnect") || strings.Contains(a, "reset") || strings.Contains(a, "close"):
		return ""
	}
	return "unknown"
}
