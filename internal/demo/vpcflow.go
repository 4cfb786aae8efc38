package demo

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// flowHeader is the custom flow log format the demo's flow logs use: the
// default fields and those of versions 3 to 5 (instance, direction, path).
const flowHeader = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status " +
	"vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id " +
	"pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"

// flow is one flow log record, as seen on the interface of host.
type flow struct {
	start    time.Time
	host     *host // the interface that recorded the flow
	src, dst string
	sport    int
	dport    int
	proto    int
	packets  int
	bytes    int64
	reject   bool
	egress   bool
	srcSvc   string // AWS service of the source address, "-" if none
	dstSvc   string
	path     int // traffic-path of egress flows (0: none)
	nodata   bool
}

// flowGen draws the flows of one account.
type flowGen struct {
	w     *world
	r     *rng
	a     *account
	flows []flow
}

func ephemeral(r *rng) int { return r.between(32768, 60999) }

// size draws a heavy-tailed byte count around median bytes.
func (g *flowGen) size(median float64) int64 {
	return int64(math.Max(40, median*math.Exp(g.r.NormFloat64()*1.1)))
}

// tcp adds an accepted or rejected TCP flow recorded on h.
func (g *flowGen) tcp(t time.Time, h *host, src, dst string, dport int, median float64, reject, egress bool) *flow {
	f := flow{start: t, host: h, src: src, dst: dst, sport: ephemeral(g.r), dport: dport, proto: 6,
		reject: reject, egress: egress, srcSvc: "-", dstSvc: "-"}
	if reject {
		f.packets, f.bytes = 1+g.r.IntN(2), int64(40+g.r.IntN(2)*40)
	} else {
		f.bytes = g.size(median)
		f.packets = int(math.Max(3, float64(f.bytes)/float64(500+g.r.IntN(900))))
	}
	g.flows = append(g.flows, f)
	return &g.flows[len(g.flows)-1]
}

var scanPorts = []int{22, 23, 445, 3389, 80, 8080, 443, 1433, 3306, 5900, 6379, 9200, 2375, 5432, 25, 21, 8443, 27017, 11211, 5060}

// hour draws an hour of ordinary traffic of the account.
func (g *flowGen) hour(from, to time.Time) {
	w, r, a := g.w, g.r, g.a
	load := 1.0
	if a != w.accounts[0] {
		load = 0.35
	}
	span := fraction(from, to) * w.scale * load
	mid := from.Add(to.Sub(from) / 2)
	busy := traffic(mid)
	at := func() time.Time { return r.at(from, to) }
	albs, webs, apps := a.hostsOf(kindALB), a.hostsOf(kindWeb), a.hostsOf(kindApp)
	dbs, nodes := a.hostsOf(kindDB), a.hostsOf(kindNode)
	customers := weightedNets(netCustomers)
	scanners := weightedNets(netScanners)

	for range r.poisson(30 * busy * span) {
		alb := pick(r, albs)
		n := customers.pick(r)
		g.tcp(at(), alb, r.ipIn(n.prefix), alb.privateIP, 443, 24000, false, false)
	}
	if len(webs) > 0 {
		for range r.poisson(16 * busy * span) {
			alb, web := pick(r, albs), pick(r, webs)
			g.tcp(at(), web, alb.privateIP, web.privateIP, 80, 18000, false, false)
		}
	}
	if len(apps) > 0 && len(webs) > 0 {
		for range r.poisson(14 * busy * span) {
			web, app := pick(r, webs), pick(r, apps)
			g.tcp(at(), app, web.privateIP, app.privateIP, 8080, 9000, false, false)
		}
	}
	if len(dbs) > 0 && len(apps) > 0 {
		for range r.poisson(11 * busy * span) {
			app, db := pick(r, apps), pick(r, dbs)
			g.tcp(at(), db, app.privateIP, db.privateIP, 5432, 120000, false, false)
		}
		// The nightly database backup to S3 is the biggest talker.
		if from.Hour() == 2 {
			db := dbs[0]
			for range r.poisson(20 * span) {
				f := g.tcp(at(), db, db.privateIP, r.ipIn(s3Net(a.home)), 443, 250e6, false, true)
				f.dstSvc, f.path = "S3", 7
			}
		}
	}
	for range r.poisson(7 * span) {
		n := pick(r, nodes)
		o := pick(r, nodes)
		g.tcp(at(), o, n.privateIP, o.privateIP, 10250, 6000, false, false)
	}
	for range r.poisson(12 * span) {
		h := pick(r, a.hosts)
		if h.instanceID == "" {
			continue
		}
		g.flows = append(g.flows, flow{start: at(), host: h, src: h.privateIP, dst: a.vpc.resolverIP, sport: ephemeral(r), dport: 53,
			proto: 17, packets: 1 + r.IntN(3), bytes: int64(70 + r.IntN(180)), egress: true, srcSvc: "-", dstSvc: "-", path: 1})
	}
	for range r.poisson(8 * span) {
		h := pick(r, a.hosts)
		if h.instanceID == "" {
			continue
		}
		f := g.tcp(at(), h, h.privateIP, r.ipIn(s3Net(a.home)), 443, 60000, false, true)
		f.dstSvc, f.path = "S3", 7
	}
	for range r.poisson(5 * span) {
		h := pick(r, a.hosts)
		if h.instanceID == "" {
			continue
		}
		f := g.tcp(at(), h, h.privateIP, r.ipIn(awsNet(a.home)), 443, 15000, false, true)
		f.dstSvc, f.path = "AMAZON", 1
	}
	// Internet background: scanners knocking on every public interface.
	var public []*host
	for _, h := range a.hosts {
		if h.publicIP != "" || h.kind == kindALB {
			public = append(public, h)
		}
	}
	for range r.poisson(22 * span) {
		h := pick(r, public)
		n := scanners.pick(r)
		port := pick(r, scanPorts)
		t := at()
		accept := g.reachable(h, port, t)
		f := g.tcp(t, h, r.ipIn(n.prefix), h.privateIP, port, 2400, !accept, false)
		if r.chance(0.08) && !accept {
			f.proto, f.dport, f.sport = 1, 0, 0
		}
	}
	// Staff reach the bastion, and from it the other hosts.
	if b := a.hostByName("bastion"); b != nil {
		for range r.poisson(2 * office(mid, -8) * span) {
			t := at()
			g.tcp(t, b, a.principalNamed("alice").ip(r, t), b.privateIP, 22, 90000, false, false)
		}
		for range r.poisson(3 * office(mid, 1) * span) {
			h := pick(r, append(webs, apps...))
			g.tcp(at(), h, b.privateIP, h.privateIP, 22, 60000, false, false)
		}
	}
	// An interface without traffic in its window.
	if r.chance(0.3 * span) {
		g.flows = append(g.flows, flow{start: at(), host: pick(r, a.hosts), nodata: true})
	}
}

// reachable says whether a port of a public interface accepts traffic from
// the internet at t.
func (g *flowGen) reachable(h *host, port int, t time.Time) bool {
	switch h.kind {
	case kindALB:
		return port == 80 || port == 443
	case kindBuild:
		s := g.w.story
		return port == 22 && h == s.target && !t.Before(s.sgOpened) && t.Before(s.revoked)
	}
	return port == 22 && h.sshOpen
}

// storyFlows adds the attack's traffic.
func (g *flowGen) storyFlows() {
	s := g.w.story
	if g.a != s.account {
		return
	}
	r, h := g.r, s.target
	// The scan: every public address, the common ports.
	for i, port := range scanPorts {
		for _, target := range []*host{h, s.bastion} {
			t := s.scanStart.Add(time.Duration(i*20+r.IntN(15)) * time.Second)
			g.tcp(t, target, s.attacker, target.privateIP, port, 300, !g.reachable(target, port, t), false)
		}
	}
	// One connection per password guess; the server's answers go back out.
	for _, t := range s.attempts {
		g.tcp(t, h, s.attacker, h.privateIP, 22, 3200, false, false)
		if r.chance(0.5) {
			f := g.tcp(t.Add(time.Second), h, h.privateIP, s.attacker, 0, 2800, false, true)
			f.sport, f.dport, f.path = 22, ephemeral(r), 8
		}
	}
	// The interactive session, minute by minute, and the tools it fetched.
	for t := s.loginAt; t.Before(s.logoutAt); t = t.Add(time.Minute) {
		g.tcp(t, h, s.attacker, h.privateIP, 22, 9000, false, false)
	}
	for i := range 3 {
		f := g.tcp(s.loginAt.Add(time.Duration(5+i*9)*time.Minute), h, h.privateIP, s.attacker, 443, 4e6, false, true)
		f.path = 8
	}
	// After the port was closed, the attacker comes back in vain.
	for i := range 12 {
		t := s.revoked.Add(22*time.Minute + time.Duration(i*25)*time.Second)
		g.tcp(t, h, s.attacker, h.privateIP, 22, 0, true, false)
	}
}

// line renders a flow record.
func (f *flow) line(b []byte, a *account, region string) []byte {
	h := f.host
	instance := h.instanceID
	if instance == "" {
		instance = "-"
	}
	start := f.start.Unix()
	end := start + 30 + int64(int(f.start.UnixNano()/1e6)%40)
	b = append(b, "5 "...)
	b = append(b, a.id...)
	b = append(b, ' ')
	b = append(b, h.eni...)
	if f.nodata {
		b = fmt.Appendf(b, " - - - - - - - %d %d - NODATA %s %s %s - - - - %s %s - - - - - -\n",
			start, end, a.vpc.id, h.subnet, instance, region, azID(h.az))
		return b
	}
	action, flags := "ACCEPT", 19
	switch {
	case f.proto != 6:
		flags = 0
	case f.reject:
		action, flags = "REJECT", 2
	case f.egress:
		flags = 18
	}
	dir, path := "ingress", "-"
	if f.egress {
		dir = "egress"
		if f.path > 0 {
			path = strconv.Itoa(f.path)
		}
	}
	return fmt.Appendf(b, " %s %s %d %d %d %d %d %d %d %s OK %s %s %s %d IPv4 %s %s %s %s - - %s %s %s %s\n",
		f.src, f.dst, f.sport, f.dport, f.proto, f.packets, f.bytes, start, end, action,
		a.vpc.id, h.subnet, instance, flags, f.src, f.dst, region, azID(h.az), f.srcSvc, f.dstSvc, dir, path)
}

// azID is the zone id of an availability zone name ("us-east-1a" ->
// "use1-az1").
func azID(az string) string {
	if len(az) < 2 {
		return "-"
	}
	region, letter := az[:len(az)-1], az[len(az)-1]
	short := []byte{}
	for i, part := range bytes.Split([]byte(region), []byte("-")) {
		if i < 2 && len(part) > 0 {
			if i == 0 {
				short = append(short, part...)
			} else {
				short = append(short, part[0])
			}
		} else {
			short = append(short, part...)
		}
	}
	return string(short) + "-az" + strconv.Itoa(int(letter-'a')+1)
}

// genVPCFlow writes one flow log object per account and hour:
// AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/<account>_vpcflowlogs_<region>_<flow log id>_<time>_<hash>.log.gz.
func genVPCFlow(w *world, out *output) error {
	r := newRNG(w.seed, "vpcflow")
	for _, a := range w.accounts {
		g := &flowGen{w: w, r: r, a: a}
		w.window(g.hour)
		g.storyFlows()
		sort.SliceStable(g.flows, func(i, j int) bool { return g.flows[i].start.Before(g.flows[j].start) })
		var hour time.Time
		var body []byte
		n := 0
		flush := func() error {
			if n == 0 {
				return nil
			}
			stamp := hour.Add(55 * time.Minute)
			if stamp.After(w.end) {
				stamp = w.end
			}
			key := fmt.Sprintf("AWSLogs/%s/vpcflowlogs/%s/%s/%s_vpcflowlogs_%s_%s_%s_%s.log.gz",
				a.id, a.home, hour.Format("2006/01/02"), a.id, a.home, a.vpc.flowLogID, stamp.Format("20060102T1504Z"), r.hex(8))
			err := out.write(TypeVPCFlow, key, body, n)
			body, n = body[:0], 0
			return err
		}
		for i := range g.flows {
			f := &g.flows[i]
			if f.start.Before(w.start) || !f.start.Before(w.end) {
				continue
			}
			if h := f.start.Truncate(time.Hour); !h.Equal(hour) {
				if err := flush(); err != nil {
					return err
				}
				hour = h
			}
			if n == 0 {
				body = append(append(body, flowHeader...), '\n')
			}
			body = f.line(body, a, a.home)
			n++
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}
