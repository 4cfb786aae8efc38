package demo

import (
	"fmt"
	"sort"
	"time"
)

// syslogLine is one line of /var/log/secure.
type syslogLine struct {
	t    time.Time
	host *host
	proc string
	pid  int
	msg  string
}

func (l syslogLine) append(b []byte) []byte {
	b = l.t.UTC().AppendFormat(b, time.Stamp)
	b = append(b, ' ')
	b = append(b, l.host.hostname()...)
	b = append(b, ' ')
	b = append(b, l.proc...)
	if l.pid > 0 {
		b = fmt.Appendf(b, "[%d]", l.pid)
	}
	b = append(b, ": "...)
	b = append(b, l.msg...)
	return append(b, '\n')
}

// secureGen draws the secure log lines of one account.
type secureGen struct {
	w     *world
	r     *rng
	lines []syslogLine
	pid   int
}

func (g *secureGen) add(t time.Time, h *host, proc string, pid int, msg string) {
	g.lines = append(g.lines, syslogLine{t, h, proc, pid, msg})
}

func (g *secureGen) nextPID() int {
	g.pid += 1 + g.r.IntN(40)
	if g.pid > 60000 {
		g.pid = 2000
	}
	return g.pid
}

// guessedUsers are the names password guessing tries, most common first.
var guessedUsers = []string{"root", "admin", "ubuntu", "test", "user", "oracle", "postgres", "git", "ftpuser", "pi",
	"guest", "deploy", "hadoop", "support", "ec2-user", "jenkins", "minecraft", "debian"}

// localUsers are the accounts that exist on the hosts.
var localUsers = map[string]bool{"root": true, "ec2-user": true, "jenkins": true}

// guess writes the lines of one failed SSH login: a wrong password for an
// existing or an unknown user, possibly tried more than once on the
// connection.
func (g *secureGen) guess(t time.Time, h *host, ip, user string) {
	pid, port := g.nextPID(), ephemeral(g.r)
	tries := 1
	if g.r.chance(0.3) {
		tries = 1 + g.r.IntN(3)
	}
	if localUsers[user] {
		g.add(t, h, "sshd", pid, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost="+ip+"  user="+user)
		for i := range tries {
			g.add(t.Add(time.Duration(2+2*i)*time.Second), h, "sshd", pid, fmt.Sprintf("Failed password for %s from %s port %d ssh2", user, ip, port))
		}
		g.add(t.Add(time.Duration(3+2*tries)*time.Second), h, "sshd", pid, fmt.Sprintf("Connection closed by authenticating user %s %s port %d [preauth]", user, ip, port))
		return
	}
	g.add(t, h, "sshd", pid, fmt.Sprintf("Invalid user %s from %s port %d", user, ip, port))
	g.add(t.Add(time.Second), h, "sshd", pid, "pam_unix(sshd:auth): check pass; user unknown")
	for i := range tries {
		g.add(t.Add(time.Duration(2+2*i)*time.Second), h, "sshd", pid, fmt.Sprintf("Failed password for invalid user %s from %s port %d ssh2", user, ip, port))
	}
	if g.r.chance(0.5) {
		g.add(t.Add(time.Duration(3+2*tries)*time.Second), h, "sshd", pid, fmt.Sprintf("Received disconnect from %s port %d:11: Bye Bye [preauth]", ip, port))
	}
	g.add(t.Add(time.Duration(3+2*tries)*time.Second), h, "sshd", pid, fmt.Sprintf("Disconnected from invalid user %s %s port %d [preauth]", user, ip, port))
}

// session writes a successful login with a key or a password, the
// commands run with sudo and the logout.
func (g *secureGen) session(t time.Time, h *host, ip, user, method string, length time.Duration, sudo []string) {
	pid, port := g.nextPID(), ephemeral(g.r)
	if method == "publickey" {
		g.add(t, h, "sshd", pid, fmt.Sprintf("Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:%s", user, ip, port, g.r.str(43, alnumChars)))
	} else {
		g.add(t, h, "sshd", pid, fmt.Sprintf("Accepted password for %s from %s port %d ssh2", user, ip, port))
	}
	uid := map[string]int{"ec2-user": 1000, "jenkins": 996}[user]
	g.add(t, h, "sshd", pid, fmt.Sprintf("pam_unix(sshd:session): session opened for user %s(uid=%d) by (uid=0)", user, uid))
	for i, cmd := range sudo {
		at := t.Add(length * time.Duration(i+1) / time.Duration(len(sudo)+1))
		spid := g.nextPID()
		g.add(at, h, "sudo", 0, fmt.Sprintf("%s : TTY=pts/0 ; PWD=/home/%s ; USER=root ; COMMAND=%s", user, user, cmd))
		g.add(at, h, "sudo", spid, fmt.Sprintf("pam_unix(sudo:session): session opened for user root(uid=0) by %s(uid=%d)", user, uid))
		g.add(at.Add(time.Duration(1+g.r.IntN(20))*time.Second), h, "sudo", spid, "pam_unix(sudo:session): session closed for user root")
	}
	end := t.Add(length)
	g.add(end, h, "sshd", pid, fmt.Sprintf("Received disconnect from %s port %d:11: disconnected by user", ip, port))
	g.add(end, h, "sshd", pid, fmt.Sprintf("Disconnected from user %s %s port %d", user, ip, port))
	g.add(end, h, "sshd", pid, "pam_unix(sshd:session): session closed for user "+user)
}

var adminCommands = []string{"/usr/bin/systemctl restart nginx", "/usr/bin/journalctl -u app --since today", "/usr/bin/dnf check-update",
	"/usr/bin/tail -n 200 /var/log/messages", "/usr/bin/systemctl status amazon-cloudwatch-agent", "/usr/bin/df -h"}

// hour draws an hour of ordinary secure log activity of account a.
func (g *secureGen) hour(a *account, from, to time.Time) {
	w, r := g.w, g.r
	span := fraction(from, to) * w.scale
	mid := from.Add(to.Sub(from) / 2)
	users := zipf(guessedUsers, 1.2)
	scanners := weightedNets(netScanners)
	for _, h := range a.hosts {
		if !h.secureLog {
			continue
		}
		// Password guessing on hosts reachable from the internet: bursts
		// of attempts from one source.
		rate := map[hostKind]float64{kindBastion: 4, kindBuild: 3, kindDev: 2}[h.kind]
		if h.kind == kindBuild {
			s := w.story
			if mid.Before(s.sgOpened) || !mid.Before(s.revoked) {
				rate = 0
			}
		}
		for bursts := r.poisson(rate / 6 * span); bursts > 0; bursts-- {
			n := scanners.pick(r)
			ip := r.ipIn(n.prefix)
			t := r.at(from, to)
			for range 1 + r.IntN(11) {
				g.guess(t, h, ip, users.pick(r))
				t = t.Add(time.Duration(3+r.IntN(40)) * time.Second)
			}
		}
		// Staff logins: with a key on the bastion from their networks, on the
		// other hosts from the bastion.
		logins := r.poisson(1.2 * office(mid, -8) * span)
		for range logins {
			t := r.at(from, to)
			ip := a.vpc.cidr + ".0.10"
			if b := a.hostByName("bastion"); b != nil {
				ip = b.privateIP
			}
			if h.sshOpen {
				ip = a.principalNamed("alice").ip(r, t)
			}
			var sudo []string
			for range r.IntN(3) {
				sudo = append(sudo, pick(r, adminCommands))
			}
			g.session(t, h, ip, "ec2-user", "publickey", time.Duration(2+r.IntN(50))*time.Minute, sudo)
		}
		// The hourly jobs.
		if span >= 0.5 {
			t := from.Truncate(time.Hour).Add(time.Minute + time.Duration(r.IntN(3))*time.Second)
			if !t.Before(from) && t.Before(to) {
				pid := g.nextPID()
				g.add(t, h, "crond", pid, "pam_unix(crond:session): session opened for user root(uid=0) by (uid=0)")
				g.add(t.Add(time.Duration(1+r.IntN(5))*time.Second), h, "crond", pid, "pam_unix(crond:session): session closed for user root")
			}
		}
	}
}

// storyLines are the attacked instance's lines: the guessing, the login,
// the refused sudo and the logout.
func (g *secureGen) storyLines() {
	s := g.w.story
	users := zipf(guessedUsers, 0.7)
	for i, t := range s.attempts {
		user := users.pick(g.r)
		if i%7 == 3 {
			user = s.sshUser
		}
		g.guess(t, s.target, s.attacker, user)
	}
	pid, port := g.nextPID(), ephemeral(g.r)
	h, ip := s.target, s.attacker
	g.add(s.loginAt, h, "sshd", pid, fmt.Sprintf("Accepted password for %s from %s port %d ssh2", s.sshUser, ip, port))
	g.add(s.loginAt, h, "sshd", pid, fmt.Sprintf("pam_unix(sshd:session): session opened for user %s(uid=996) by (uid=0)", s.sshUser))
	at := s.loginAt.Add(2*time.Minute + 40*time.Second)
	g.add(at, h, "sudo", 0, fmt.Sprintf("%s : user NOT in sudoers ; TTY=pts/0 ; PWD=/var/lib/jenkins ; USER=root ; COMMAND=/bin/bash", s.sshUser))
	g.add(at.Add(20*time.Second), h, "sudo", 0, fmt.Sprintf("%s : user NOT in sudoers ; TTY=pts/0 ; PWD=/var/lib/jenkins ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow", s.sshUser))
	g.add(s.logoutAt, h, "sshd", pid, fmt.Sprintf("Received disconnect from %s port %d:11: disconnected by user", ip, port))
	g.add(s.logoutAt, h, "sshd", pid, fmt.Sprintf("Disconnected from user %s %s port %d", s.sshUser, ip, port))
	g.add(s.logoutAt, h, "sshd", pid, "pam_unix(sshd:session): session closed for user "+s.sshUser)
}

// genSecure writes the secure logs where a Firehose stream fed by the
// CloudWatch Logs group of the agent puts them, one object per account and
// hour: AWSLogs/<account>/EC2/Linux/Secure/<region>/YYYY/MM/DD/HH/<stream>-1-<time>-<id>.gz.
// The objects hold plain syslog lines rather than CloudWatch Logs
// subscription messages, which the loader does not read yet (via_cwl).
func genSecure(w *world, out *output) error {
	r := newRNG(w.seed, "secure")
	for _, a := range w.accounts {
		g := &secureGen{w: w, r: r, pid: 2000 + r.IntN(20000)}
		w.window(func(from, to time.Time) { g.hour(a, from, to) })
		if a == w.story.account {
			g.storyLines()
		}
		sort.SliceStable(g.lines, func(i, j int) bool { return g.lines[i].t.Before(g.lines[j].t) })
		var hour time.Time
		var body []byte
		n := 0
		flush := func() error {
			if n == 0 {
				return nil
			}
			stamp := hour.Add(time.Duration(50+r.IntN(9)) * time.Minute)
			if stamp.After(w.end) {
				stamp = w.end
			}
			key := fmt.Sprintf("AWSLogs/%s/EC2/Linux/Secure/%s/%s/aes-siem-firehose-linux-secure-1-%s-%s.gz",
				a.id, a.home, hour.Format("2006/01/02/15"), stamp.Format("2006-01-02-15-04-05"), r.uuid())
			err := out.write(TypeLinuxSecure, key, body, n)
			body, n = body[:0], 0
			return err
		}
		for _, l := range g.lines {
			if l.t.Before(w.start) || !l.t.Before(w.end) {
				continue
			}
			if h := l.t.Truncate(time.Hour); !h.Equal(hour) {
				if err := flush(); err != nil {
					return err
				}
				hour = h
			}
			body = l.append(body)
			n++
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}
