package demo

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// world is the simulated company: its accounts, networks, hosts and
// people, built once from the seed and shared (read-only) by every
// generator.
type world struct {
	seed       int64
	start, end time.Time
	scale      float64
	regions    []string
	accounts   []*account
	story      *story
}

// account is one AWS account with one VPC in its home region.
type account struct {
	id, name string
	home     string // region of the VPC
	az       []string
	vpc      vpc
	hosts    []*host
	detector map[string]string // GuardDuty detector id per region
	trail    string
	buckets  []string
	// people and workloads calling the AWS APIs.
	users []*principal
}

type vpc struct {
	id, cidr    string // cidr: first two octets, "10.0"
	flowLogID   string
	subnets     map[string]string // name -> subnet id
	resolverIP  string
	natPublicIP string
}

// hostKind says what a host does, which decides its traffic.
type hostKind int

const (
	kindBastion hostKind = iota
	kindBuild
	kindWeb
	kindApp
	kindDB
	kindNode
	kindALB // a load balancer interface: no instance, no logs of its own
	kindDev
)

// host is an EC2 instance (or a load balancer interface).
type host struct {
	kind         hostKind
	name         string
	instanceID   string // "" for a load balancer interface
	eni          string
	subnet       string
	az           string
	privateIP    string
	publicIP     string
	instanceType string
	ami          string
	role         string // instance profile role
	sg           string
	// secureLog says the host ships /var/log/secure.
	secureLog bool
	// sshOpen says port 22 is reachable from the internet.
	sshOpen bool
}

// hostname is the EC2 default host name.
func (h *host) hostname() string { return "ip-" + strings.ReplaceAll(h.privateIP, ".", "-") }

func (a *account) hostsOf(k hostKind) []*host {
	var out []*host
	for _, h := range a.hosts {
		if h.kind == k {
			out = append(out, h)
		}
	}
	return out
}

func (a *account) hostByName(name string) *host {
	for _, h := range a.hosts {
		if h.name == name {
			return h
		}
	}
	return nil
}

// newWorld builds the company from the options.
func newWorld(o Options) *world {
	r := newRNG(o.Seed, "world")
	w := &world{seed: o.Seed, end: o.Now, start: o.Now.Add(-time.Duration(o.Days) * 24 * time.Hour), scale: o.Scale, regions: o.Regions}
	names := []string{"prod", "dev"}
	for i, id := range o.Accounts {
		name := fmt.Sprintf("sandbox-%d", i-1)
		if i < len(names) {
			name = names[i]
		}
		a := &account{id: id, name: name, home: o.Regions[i%len(o.Regions)], detector: map[string]string{}}
		a.az = []string{a.home + "a", a.home + "b"}
		for _, reg := range o.Regions {
			a.detector[reg] = r.hex(32)
		}
		a.trail = "management-events"
		a.buckets = []string{
			fmt.Sprintf("acme-%s-app-assets", name), fmt.Sprintf("acme-%s-build-artifacts", name),
			fmt.Sprintf("acme-%s-customer-exports", name), fmt.Sprintf("acme-%s-logs-%s", name, id),
		}
		second := 16 * i
		a.vpc = vpc{
			id: r.resourceID("vpc"), cidr: fmt.Sprintf("10.%d", second), flowLogID: r.resourceID("fl"),
			subnets:     map[string]string{},
			resolverIP:  fmt.Sprintf("10.%d.0.2", second),
			natPublicIP: r.ipIn(awsNet(a.home)),
		}
		for _, s := range []string{"public-a", "public-b", "private-a", "private-b", "data-a"} {
			a.vpc.subnets[s] = r.resourceID("subnet")
		}
		w.accounts = append(w.accounts, a)
		w.addHosts(r, a, i == 0)
		w.addPrincipals(r, a, i == 0)
	}
	w.story = newStory(o.Seed, w)
	return w
}

// addHosts creates the account's instances: a production layout for the
// first account, a smaller development one for the others.
func (w *world) addHosts(r *rng, a *account, prod bool) {
	type spec struct {
		kind               hostKind
		name, subnet, role string
		public, secure     bool
		itype              string
	}
	var specs []spec
	if prod {
		specs = []spec{
			{kindBastion, "bastion", "public-a", "bastion-role", true, true, "t3.micro"},
			{kindBuild, "build-01", "public-b", "ci-build-role", true, true, "c6i.xlarge"},
			{kindALB, "alb-a", "public-a", "", false, false, ""},
			{kindALB, "alb-b", "public-b", "", false, false, ""},
			{kindWeb, "web-1", "private-a", "web-app-role", false, true, "m6i.large"},
			{kindWeb, "web-2", "private-b", "web-app-role", false, true, "m6i.large"},
			{kindApp, "app-1", "private-a", "app-role", false, false, "m6i.xlarge"},
			{kindApp, "app-2", "private-b", "app-role", false, false, "m6i.xlarge"},
			{kindDB, "db-1", "data-a", "db-role", false, false, "r6i.2xlarge"},
			{kindNode, "eks-node-1", "private-a", "eks-node-role", false, false, "m6i.2xlarge"},
			{kindNode, "eks-node-2", "private-b", "eks-node-role", false, false, "m6i.2xlarge"},
			{kindNode, "eks-node-3", "private-a", "eks-node-role", false, false, "m6i.2xlarge"},
		}
	} else {
		specs = []spec{
			{kindDev, "dev-box-1", "public-a", "dev-instance-role", true, true, "t3.large"},
			{kindALB, "alb-a", "public-a", "", false, false, ""},
			{kindWeb, "dev-web-1", "private-a", "web-app-role", false, true, "t3.medium"},
			{kindApp, "dev-app-1", "private-a", "app-role", false, false, "t3.large"},
			{kindDB, "dev-db-1", "data-a", "db-role", false, false, "t3.large"},
			{kindNode, "eks-node-1", "private-a", "eks-node-role", false, false, "m6i.large"},
		}
	}
	thirds := map[string]int{"public-a": 0, "public-b": 1, "private-a": 10, "private-b": 11, "data-a": 20}
	amis := []string{r.resourceID("ami"), r.resourceID("ami")}
	used := map[string]bool{}
	for _, s := range specs {
		ip := ""
		for ip == "" || used[ip] {
			ip = fmt.Sprintf("%s.%d.%d", a.vpc.cidr, thirds[s.subnet], r.between(10, 250))
		}
		used[ip] = true
		h := &host{
			kind: s.kind, name: s.name, eni: r.resourceID("eni"), subnet: a.vpc.subnets[s.subnet],
			privateIP: ip,
			role:      s.role, instanceType: s.itype, secureLog: s.secure, sg: r.resourceID("sg"),
			ami: amis[r.IntN(len(amis))],
		}
		h.az = a.az[0]
		if strings.HasSuffix(s.subnet, "-b") {
			h.az = a.az[1]
		}
		if s.kind != kindALB {
			h.instanceID = r.resourceID("i")
		}
		if s.public {
			h.publicIP = r.ipIn(awsNet(a.home))
			h.sshOpen = true
		}
		a.hosts = append(a.hosts, h)
	}
}

// window calls fn for every hour of the time range, with the part of the
// hour inside the range.
func (w *world) window(fn func(from, to time.Time)) {
	for h := w.start.Truncate(time.Hour); h.Before(w.end); h = h.Add(time.Hour) {
		from, to := h, h.Add(time.Hour)
		if from.Before(w.start) {
			from = w.start
		}
		if to.After(w.end) {
			to = w.end
		}
		if to.After(from) {
			fn(from, to)
		}
	}
}

// fraction is the part of an hour between from and to.
func fraction(from, to time.Time) float64 { return to.Sub(from).Hours() }

// Activity profiles: the relative rate of events at a time.

// office is the activity of people working in a time zone (UTC offset in
// hours): nights and weekends are quiet.
func office(t time.Time, utcOffset int) float64 {
	local := t.Add(time.Duration(utcOffset) * time.Hour)
	h := float64(local.Hour()) + float64(local.Minute())/60
	// A working day: ramp up from 8, lunch dip at 12:30, ramp down after 17.
	v := 0.03
	switch {
	case h >= 8 && h < 18:
		v = 1 - 0.3*math.Exp(-(h-12.5)*(h-12.5)/0.5)
	case h >= 7 && h < 8:
		v = 0.3
	case h >= 18 && h < 20:
		v = 0.25
	case h >= 20 && h < 23:
		v = 0.08
	}
	if wd := local.Weekday(); wd == time.Saturday || wd == time.Sunday {
		v *= 0.12
	}
	return v
}

// traffic is the load of a consumer web application with users in the
// Americas, Europe and Asia: always some, most in the US evening.
func traffic(t time.Time) float64 {
	h := float64(t.UTC().Hour()) + float64(t.UTC().Minute())/60
	return 0.45 + 0.55*math.Pow(math.Sin(math.Pi*math.Mod(h+24-14, 24)/24), 2)
}
