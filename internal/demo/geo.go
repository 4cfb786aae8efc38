package demo

import "net/netip"

// network is a block of public addresses with where it is, as a GeoIP
// database places it. The blocks are real allocations of the named
// country; the small ones are networks of the MaxMind test databases
// (GeoIP2-City-Test), so tests with those databases place them too.
type network struct {
	prefix  netip.Prefix
	country string // ISO 3166 code
	name    string // country name
	city    string
	lat     float64
	lon     float64
	asn     int
	org     string
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// Public networks, by role in the demo.
var (
	// netAttacker is the network of the attack story's address.
	netAttacker = network{mustPrefix("175.16.199.0/24"), "CN", "China", "Changchun", 43.88, 125.3228, 4837, "CHINA UNICOM China169 Backbone"}

	// Offices and homes of the company's staff.
	netOfficeUS = network{mustPrefix("216.160.83.56/29"), "US", "United States", "Milton", 47.2513, -122.3149, 209, "CenturyLink"}
	netOfficeGB = network{mustPrefix("81.2.69.160/27"), "GB", "United Kingdom", "London", 51.5142, -0.0931, 20712, "Andrews & Arnold Ltd"}
	netHomeUS   = network{mustPrefix("73.0.0.0/11"), "US", "United States", "Seattle", 47.6062, -122.3321, 7922, "Comcast Cable Communications, LLC"}
	netHomeDE   = network{mustPrefix("91.0.0.0/11"), "DE", "Germany", "Berlin", 52.52, 13.405, 3320, "Deutsche Telekom AG"}
	// netCI is where the hosted CI runners connect from.
	netCI = network{mustPrefix("20.36.0.0/14"), "US", "United States", "Boydton", 36.6676, -78.3875, 8075, "Microsoft Corporation"}
)

// netScanners are the sources of internet background noise: port scans and
// SSH password guessing, weighted by how often each shows up.
var netScanners = []struct {
	net    network
	weight float64
}{
	{network{mustPrefix("218.92.0.0/16"), "CN", "China", "Nanjing", 32.0617, 118.7778, 4134, "CHINANET-BACKBONE"}, 22},
	{network{mustPrefix("61.177.172.0/24"), "CN", "China", "Nanjing", 32.0617, 118.7778, 4134, "CHINANET-BACKBONE"}, 10},
	{network{mustPrefix("222.186.0.0/16"), "CN", "China", "Nanjing", 32.0617, 118.7778, 4134, "CHINANET-BACKBONE"}, 8},
	{network{mustPrefix("95.165.0.0/16"), "RU", "Russia", "Moscow", 55.7558, 37.6173, 25513, "PJSC Moscow city telephone network"}, 9},
	{network{mustPrefix("113.160.0.0/11"), "VN", "Vietnam", "Hanoi", 21.0285, 105.8542, 45899, "VNPT Corp"}, 8},
	{network{mustPrefix("117.192.0.0/11"), "IN", "India", "Bengaluru", 12.9716, 77.5946, 9829, "National Internet Backbone"}, 7},
	{network{mustPrefix("121.128.0.0/10"), "KR", "South Korea", "Seoul", 37.5665, 126.978, 4766, "Korea Telecom"}, 6},
	{network{mustPrefix("73.32.0.0/11"), "US", "United States", "Chicago", 41.8781, -87.6298, 7922, "Comcast Cable Communications, LLC"}, 7},
	{network{mustPrefix("91.32.0.0/11"), "DE", "Germany", "Frankfurt am Main", 50.1109, 8.6821, 3320, "Deutsche Telekom AG"}, 4},
	{network{mustPrefix("90.0.0.0/10"), "FR", "France", "Paris", 48.8566, 2.3522, 3215, "Orange"}, 3},
	{network{mustPrefix("202.196.224.0/20"), "PH", "Philippines", "Manila", 14.5995, 120.9842, 9299, "Philippine Long Distance Telephone Company"}, 3},
	{network{mustPrefix("89.160.20.128/25"), "SE", "Sweden", "Linköping", 58.4167, 15.6167, 29518, "Bredband2 AB"}, 2},
}

// netCustomers are the sources of the web application's users.
var netCustomers = []struct {
	net    network
	weight float64
}{
	{netHomeUS, 40},
	{network{mustPrefix("126.0.0.0/8"), "JP", "Japan", "Tokyo", 35.6762, 139.6503, 17676, "SoftBank Corp."}, 14},
	{netHomeDE, 12},
	{network{mustPrefix("90.64.0.0/10"), "FR", "France", "Lyon", 45.764, 4.8357, 3215, "Orange"}, 8},
	{network{mustPrefix("2.125.160.216/29"), "GB", "United Kingdom", "Boxford", 51.75, -1.25, 5607, "Sky UK Limited"}, 8},
	{network{mustPrefix("89.160.20.112/28"), "SE", "Sweden", "Linköping", 58.4167, 15.6167, 29518, "Bredband2 AB"}, 4},
	{network{mustPrefix("121.128.0.0/10"), "KR", "South Korea", "Seoul", 37.5665, 126.978, 4766, "Korea Telecom"}, 6},
	{network{mustPrefix("117.224.0.0/11"), "IN", "India", "Mumbai", 19.076, 72.8777, 9829, "National Internet Backbone"}, 6},
}

// awsNetworks are EC2 public address blocks by region (instance public
// addresses, NAT gateways, Lambda egress), and S3 endpoint blocks.
var (
	awsNetworks = map[string]network{
		"us-east-1":      {mustPrefix("3.80.0.0/12"), "US", "United States", "Ashburn", 39.0438, -77.4874, 14618, "AMAZON-AES"},
		"us-west-2":      {mustPrefix("34.208.0.0/12"), "US", "United States", "Boardman", 45.8399, -119.7006, 16509, "AMAZON-02"},
		"eu-west-1":      {mustPrefix("34.240.0.0/13"), "IE", "Ireland", "Dublin", 53.3498, -6.2603, 16509, "AMAZON-02"},
		"eu-central-1":   {mustPrefix("3.120.0.0/14"), "DE", "Germany", "Frankfurt am Main", 50.1109, 8.6821, 16509, "AMAZON-02"},
		"ap-northeast-1": {mustPrefix("54.64.0.0/15"), "JP", "Japan", "Tokyo", 35.6762, 139.6503, 16509, "AMAZON-02"},
	}
	s3Networks = map[string]network{
		"us-east-1": {mustPrefix("52.216.0.0/15"), "US", "United States", "Ashburn", 39.0438, -77.4874, 16509, "AMAZON-02"},
		"eu-west-1": {mustPrefix("52.218.0.0/17"), "IE", "Ireland", "Dublin", 53.3498, -6.2603, 16509, "AMAZON-02"},
	}
)

// awsNet returns the EC2 block of a region (us-east-1's for regions not
// listed).
func awsNet(region string) netip.Prefix {
	if n, ok := awsNetworks[region]; ok {
		return n.prefix
	}
	return awsNetworks["us-east-1"].prefix
}

func s3Net(region string) netip.Prefix {
	if n, ok := s3Networks[region]; ok {
		return n.prefix
	}
	return s3Networks["us-east-1"].prefix
}

// weightedNets builds a chooser over a weighted network table.
func weightedNets(table []struct {
	net    network
	weight float64
}) *weighted[network] {
	nets := make([]network, len(table))
	for i, e := range table {
		nets[i] = e.net
	}
	return newWeighted(nets, func(i int, _ network) float64 { return table[i].weight })
}
