package demo

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// dnsQuery is one Route 53 Resolver query log record.
type dnsQuery struct {
	Version   string      `json:"version"`
	AccountID string      `json:"account_id"`
	Region    string      `json:"region"`
	VPCID     string      `json:"vpc_id"`
	Time      string      `json:"query_timestamp"`
	Name      string      `json:"query_name"`
	Type      string      `json:"query_type"`
	Class     string      `json:"query_class"`
	RCode     string      `json:"rcode"`
	Answers   []dnsAnswer `json:"answers"`
	SrcAddr   string      `json:"srcaddr"`
	SrcPort   string      `json:"srcport"`
	Transport string      `json:"transport"`
	SrcIDs    dnsSrcIDs   `json:"srcids"`

	t time.Time
}

type dnsAnswer struct {
	Rdata string `json:"Rdata"`
	Type  string `json:"Type"`
	Class string `json:"Class"`
}

type dnsSrcIDs struct {
	Instance string `json:"instance,omitempty"`
}

// dnsName is a name the hosts resolve and how.
type dnsName struct {
	name string
	// answer returns the records of an answer ("" type means NXDOMAIN).
	answer func(r *rng, a *account) []dnsAnswer
	kinds  []hostKind // the hosts that ask; nil for every host
}

func aRecord(prefix func(a *account) string) func(*rng, *account) []dnsAnswer {
	return func(r *rng, a *account) []dnsAnswer {
		return []dnsAnswer{{Rdata: prefix(a), Type: "A", Class: "IN"}}
	}
}

// awsEndpoint is a regional AWS service name resolving to the region's
// AWS addresses.
func awsEndpoint(service string, kinds ...hostKind) dnsName {
	return dnsName{name: service + ".%[1]s.amazonaws.com.", answer: func(r *rng, a *account) []dnsAnswer {
		return []dnsAnswer{{Rdata: r.ipIn(awsNet(a.home)), Type: "A", Class: "IN"}}
	}, kinds: kinds}
}

func dnsNames() []dnsName {
	internal := func(host string) func(*rng, *account) []dnsAnswer {
		return aRecord(func(a *account) string {
			if h := a.hostByName(host); h != nil {
				return h.privateIP
			}
			if hs := a.hostsOf(kindDB); len(hs) > 0 {
				return hs[0].privateIP
			}
			return a.vpc.resolverIP
		})
	}
	external := func(r *rng, _ *account) []dnsAnswer {
		n := pick(r, netCustomers).net
		return []dnsAnswer{{Rdata: r.ipIn(n.prefix), Type: "A", Class: "IN"}}
	}
	return []dnsName{
		awsEndpoint("s3"),
		awsEndpoint("ssm"),
		awsEndpoint("ec2messages"),
		{name: "db.%[2]s.internal.", answer: internal("db-1"), kinds: []hostKind{kindApp, kindBuild}},
		awsEndpoint("sts"),
		awsEndpoint("logs"),
		awsEndpoint("ssmmessages"),
		awsEndpoint("secretsmanager", kindApp, kindWeb, kindBuild),
		awsEndpoint("kms", kindApp, kindWeb),
		awsEndpoint("monitoring"),
		awsEndpoint("dynamodb", kindApp),
		awsEndpoint("ecr", kindNode, kindBuild),
		awsEndpoint("sqs", kindApp),
		{name: "api.payments.example.com.", answer: external, kinds: []hostKind{kindApp}},
		{name: "hooks.chat.example.org.", answer: external, kinds: []hostKind{kindBuild, kindApp}},
		{name: "db.%[2]s.internal.%[1]s.compute.internal.", kinds: []hostKind{kindApp}},
		{name: "kubernetes.default.svc.cluster.local.", kinds: []hostKind{kindNode}},
		{name: "time.example.net.", answer: external},
		{name: "cdn.assets.example.com.", answer: external, kinds: []hostKind{kindWeb}},
	}
}

// genRoute53 writes the Resolver query logs: one object per account and
// hour, AWSLogs/<account>/vpcdnsquerylogs/<vpc>/YYYY/MM/DD/<account>_vpcdnsquerylogs_<vpc>_<time>_<hash>.log.gz.
func genRoute53(w *world, out *output) error {
	r := newRNG(w.seed, "route53")
	names := zipf(dnsNames(), 1.0)
	for ai, a := range w.accounts {
		load := 1.0
		if ai > 0 {
			load = 0.35
		}
		var queries []*dnsQuery
		w.window(func(from, to time.Time) {
			n := r.poisson(75 * traffic(from) * fraction(from, to) * w.scale * load)
			for range n {
				h := pick(r, a.hosts)
				if h.instanceID == "" {
					continue
				}
				name := names.pick(r)
				if name.kinds != nil && !contains(name.kinds, h.kind) {
					continue
				}
				queries = append(queries, w.query(r, a, h, r.at(from, to), name))
			}
		})
		queries = append(queries, w.storyQueries(r, a)...)
		sort.SliceStable(queries, func(i, j int) bool { return queries[i].t.Before(queries[j].t) })
		if err := writeQueries(w, out, r, a, queries); err != nil {
			return err
		}
	}
	return nil
}

// query builds one query of host h for name.
func (w *world) query(r *rng, a *account, h *host, t time.Time, name dnsName) *dnsQuery {
	q := &dnsQuery{Version: "1.100000", AccountID: a.id, Region: a.home, VPCID: a.vpc.id, Time: t.UTC().Format(time.RFC3339),
		Name: name.name, Type: "A", Class: "IN", RCode: "NOERROR", Answers: []dnsAnswer{}, SrcAddr: h.privateIP,
		SrcPort: strconv.Itoa(ephemeral(r)), Transport: "UDP", SrcIDs: dnsSrcIDs{Instance: h.instanceID}, t: t}
	if strings.Contains(q.Name, "%") {
		q.Name = fmt.Sprintf(q.Name, a.home, a.name)
	}
	switch {
	case name.answer == nil:
		q.RCode = "NXDOMAIN"
	case r.chance(0.25):
		// The IPv6 query that goes with it, answered without records.
		q.Type = "AAAA"
	default:
		q.Answers = name.answer(r, a)
	}
	return q
}

// storyQueries are the names the hosts resolve because of the attack and
// of the mining incident.
func (w *world) storyQueries(r *rng, a *account) []*dnsQuery {
	var out []*dnsQuery
	s := w.story
	if a == s.account {
		h := s.target
		check := dnsName{name: "checkip.amazonaws.com.", answer: func(r *rng, a *account) []dnsAnswer {
			return []dnsAnswer{{Rdata: r.ipIn(awsNet("us-east-1")), Type: "A", Class: "IN"}}
		}}
		tools := dnsName{name: s.domain + ".", answer: func(*rng, *account) []dnsAnswer {
			return []dnsAnswer{{Rdata: s.attacker, Type: "A", Class: "IN"}}
		}}
		out = append(out, w.query(r, a, h, s.loginAt.Add(4*time.Minute), check))
		for i := range 3 {
			q := w.query(r, a, h, s.loginAt.Add(time.Duration(5+i*9)*time.Minute-2*time.Second), tools)
			q.Type, q.Answers = "A", []dnsAnswer{{Rdata: s.attacker, Type: "A", Class: "IN"}}
			out = append(out, q)
		}
	}
	for _, f := range w.backgroundFindings() {
		if f.account != a || f.action != "DNS_REQUEST" {
			continue
		}
		name := dnsName{name: f.domain + ".", answer: func(r *rng, _ *account) []dnsAnswer {
			return []dnsAnswer{{Rdata: r.ipIn(netScanners[3].net.prefix), Type: "A", Class: "IN"}}
		}}
		for t := f.first; t.Before(f.last); t = t.Add(time.Duration(3+r.IntN(12)) * time.Minute) {
			q := w.query(r, a, f.host, t, name)
			q.Type, q.RCode = "A", "NOERROR"
			q.Answers = name.answer(r, a)
			out = append(out, q)
		}
	}
	return out
}

func writeQueries(w *world, out *output, r *rng, a *account, queries []*dnsQuery) error {
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
		key := fmt.Sprintf("AWSLogs/%s/vpcdnsquerylogs/%s/%s/%s_vpcdnsquerylogs_%s_%s_%s.log.gz",
			a.id, a.vpc.id, hour.Format("2006/01/02"), a.id, a.vpc.id, stamp.Format("20060102T1504Z"), r.hex(8))
		err := out.write(TypeRoute53, key, body, n)
		body, n = body[:0], 0
		return err
	}
	for _, q := range queries {
		if q.t.Before(w.start) || !q.t.Before(w.end) {
			continue
		}
		if h := q.t.Truncate(time.Hour); !h.Equal(hour) {
			if err := flush(); err != nil {
				return err
			}
			hour = h
		}
		line, err := json.Marshal(q)
		if err != nil {
			return fmt.Errorf("encoding a Resolver query: %w", err)
		}
		body = append(append(body, line...), '\n')
		n++
	}
	return flush()
}
