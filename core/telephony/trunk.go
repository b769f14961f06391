package telephony

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/hotline12345/hotline/core/registry"
)

// KindTrunk is the configuration kind of SIP trunks.
const KindTrunk = "trunk"

func init() {
	registry.Register(registry.Kind{
		Name: KindTrunk,
		Dir:  "flows",
		Description: "A SIP trunk to a carrier (or an IMS line): where calls come from and go to, its registration, " +
			"its limit of concurrent calls, how callers' numbers are normalised and which numbers are dialled out through it.",
		New:  func() any { return &Trunk{} },
		Spec: registry.Spec{Examples: trunkExamples},
	})
}

// Trunk is a `kind: trunk` document:
//
//	kind: trunk
//	name: telecom
//	label: 电信 IMS 中继
//	proxy: 10.10.1.1:5060
//	addresses: [10.10.1.1, 10.10.1.2]
//	max_calls: 120
//	ims: true
//	register: {username: "+8647112345", password_env: HOTLINE_TRUNK_TELECOM_PASSWORD}
//	caller_id: "12345"
//	outbound: {priority: 1, numbers: ['^1\d{10}$', '^0\d{9,11}$']}
type Trunk struct {
	Name        string `yaml:"name" jsonschema:"required"`
	Label       string `yaml:"label" jsonschema:"required"`
	Description string `yaml:"description"`
	// Proxy is the carrier's SIP server: calls out and registrations go
	// there (host or host:port).
	Proxy     string `yaml:"proxy" jsonschema:"description=the carrier's SIP server (host or host:port) for calls out and registration"`
	Transport string `yaml:"transport" jsonschema:"enum=udp,enum=tcp"`
	// Addresses are where the trunk's calls come from (IPs or CIDR
	// ranges). A trunk without addresses takes no calls in.
	Addresses []string `yaml:"addresses" jsonschema:"description=source IPs or CIDR ranges of calls in through this trunk"`
	// MaxCalls bounds the trunk's concurrent calls, in and out, on all
	// nodes (0: no bound); a call in over it is refused with 503.
	MaxCalls int `yaml:"max_calls"`
	// IMS lines carry the caller in P-Asserted-Identity, often as a tel
	// URI; calls out assert the caller ID the same way.
	IMS bool `yaml:"ims"`
	// Register, when set, keeps the platform registered with the carrier.
	Register *Credentials `yaml:"register"`
	// Auth answers the carrier's challenge to calls out (default: the
	// registration's credentials).
	Auth *Credentials `yaml:"auth"`
	// CallerID is the number shown to whoever is called out (the
	// centre's number, per the carrier's caller-ID policy).
	CallerID string `yaml:"caller_id"`
	// Strip lists prefixes taken off callers' numbers, in order (country
	// codes: +86, 0086).
	Strip []string `yaml:"strip"`
	// AreaCode is put before local numbers of 7 or 8 digits (0471).
	AreaCode string `yaml:"area_code"`
	// Outbound, when set, dials numbers out through this trunk.
	Outbound *Outbound `yaml:"outbound"`

	nets     []netip.Prefix
	patterns []*regexp.Regexp
	host     string
	port     int
}

// Credentials are a digest username and the environment variable holding
// the password: secrets stay out of the configuration repository.
type Credentials struct {
	Username    string        `yaml:"username" jsonschema:"required"`
	PasswordEnv string        `yaml:"password_env" jsonschema:"required,description=environment variable holding the password"`
	Domain      string        `yaml:"domain" jsonschema:"description=registrar domain (default: the proxy's host)"`
	Expires     time.Duration `yaml:"expires" jsonschema:"description=registration lifetime (default 300s)"`
}

// Password reads the password from the environment.
func (c *Credentials) Password() string { return os.Getenv(c.PasswordEnv) }

// Outbound says which numbers a trunk dials out.
type Outbound struct {
	// Priority orders trunks for a number: lower is tried first, the next
	// on failure (5xx, timeout, over its limit).
	Priority int `yaml:"priority"`
	// Numbers are regular expressions over the normalised number.
	Numbers []string `yaml:"numbers" jsonschema:"required"`
}

// Provision checks the trunk and compiles its addresses and patterns.
func (t *Trunk) Provision(c *registry.Context) {
	if t.Transport == "" {
		t.Transport = "udp"
	}
	if t.Transport != "udp" && t.Transport != "tcp" {
		c.Errorf(c.At("transport"), "transport: %q is not udp or tcp", t.Transport)
	}
	if t.Proxy != "" {
		host, port, err := net.SplitHostPort(t.Proxy)
		if err != nil {
			host, port = t.Proxy, "5060"
		}
		p, perr := strconv.Atoi(port)
		if host == "" || perr != nil || p <= 0 || p > 65535 {
			c.Errorf(c.At("proxy"), "proxy: %q is not host or host:port", t.Proxy)
		}
		t.host, t.port = host, p
	}
	for i, a := range t.Addresses {
		if p, err := netip.ParsePrefix(a); err == nil {
			t.nets = append(t.nets, p)
		} else if ip, err := netip.ParseAddr(a); err == nil {
			t.nets = append(t.nets, netip.PrefixFrom(ip, ip.BitLen()))
		} else {
			c.Errorf(c.At("addresses", i), "addresses[%d]: %q is not an IP address or CIDR range", i, a)
		}
	}
	if t.MaxCalls < 0 {
		c.Errorf(c.At("max_calls"), "max_calls: %d; give 0 for no bound or a positive number", t.MaxCalls)
	}
	for _, cr := range []struct {
		key string
		c   *Credentials
	}{{"register", t.Register}, {"auth", t.Auth}} {
		if cr.c == nil {
			continue
		}
		if cr.c.Username == "" || cr.c.PasswordEnv == "" {
			c.Errorf(c.At(cr.key), "%s: give username and password_env (the environment variable holding the password)", cr.key)
		}
		if cr.c.Expires == 0 {
			cr.c.Expires = 300 * time.Second
		}
	}
	if (t.Register != nil || t.Outbound != nil) && t.Proxy == "" {
		c.Errorf(c.At("proxy"), "proxy: a trunk that registers or dials out needs the carrier's proxy")
	}
	if t.Outbound != nil {
		if len(t.Outbound.Numbers) == 0 {
			c.Errorf(c.At("outbound", "numbers"), "outbound.numbers: give the patterns of numbers dialled through this trunk")
		}
		for i, n := range t.Outbound.Numbers {
			re, err := regexp.Compile(n)
			if err != nil {
				c.Errorf(c.At("outbound", "numbers", i), "outbound.numbers[%d]: %q: %v", i, n, err)
				continue
			}
			t.patterns = append(t.patterns, re)
		}
	}
	if t.AreaCode != "" && !allDigits(t.AreaCode) {
		c.Errorf(c.At("area_code"), "area_code: %q is not digits", t.AreaCode)
	}
}

// from says whether a call from addr came in through this trunk.
func (t *Trunk) from(addr netip.Addr) bool {
	for _, p := range t.nets {
		if p.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}

// dials says whether the trunk dials number out.
func (t *Trunk) dials(number string) bool {
	if t.Outbound == nil {
		return false
	}
	for _, re := range t.patterns {
		if re.MatchString(number) {
			return true
		}
	}
	return false
}

// auth is the digest credentials of calls out.
func (t *Trunk) auth() *Credentials { return cmp.Or(t.Auth, t.Register) }

// Normalize turns a caller's number as the trunk sends it into the form
// tickets and repeat-caller checks use: prefixes stripped, local numbers
// given the area code. ok is false for a number that is not digits after
// that (withheld, anonymous, garbage), which is kept as sent.
func (t *Trunk) Normalize(number string) (string, bool) {
	n := number
	for _, p := range t.Strip {
		if rest, found := strings.CutPrefix(n, p); found && rest != "" {
			n = rest
			break
		}
	}
	if !allDigits(n) {
		return number, false
	}
	if t.AreaCode != "" && (len(n) == 7 || len(n) == 8) {
		n = t.AreaCode + n
	}
	return n, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// trunkFrom finds the trunk a call from addr came through.
func trunkFrom(set *registry.Set, addr netip.Addr) (*Trunk, bool) {
	for _, d := range set.All(KindTrunk) {
		if t := d.Model.(*Trunk); t.from(addr) {
			return t, true
		}
	}
	return nil, false
}

// routes lists the trunks that dial number, in the order to try them.
func routes(set *registry.Set, number string) []*Trunk {
	var out []*Trunk
	for _, d := range set.All(KindTrunk) {
		if t := d.Model.(*Trunk); t.dials(number) {
			out = append(out, t)
		}
	}
	slices.SortStableFunc(out, func(a, b *Trunk) int { return cmp.Compare(a.Outbound.Priority, b.Outbound.Priority) })
	return out
}

// uri is the SIP URI of number at the trunk's proxy.
func (t *Trunk) uri(number string) string {
	u := fmt.Sprintf("sip:%s@%s", number, net.JoinHostPort(t.host, strconv.Itoa(t.port)))
	if t.Transport == "tcp" {
		u += ";transport=tcp"
	}
	return u
}

// inbound finds the trunk an INVITE came through and the caller's number
// as that trunk gives it (P-Asserted-Identity on IMS lines). Without any
// trunk configured every source is taken (a test bench, softphones on
// one machine) and trunk is nil; otherwise a source no trunk lists is
// refused (ok false).
func (s *Server) inbound(set *registry.Set, req *sip.Request) (trunk *Trunk, caller string, ok bool) {
	caller = req.From().Address.User
	if len(set.All(KindTrunk)) == 0 {
		return nil, caller, true
	}
	host, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		host = req.Source()
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return nil, caller, false
	}
	trunk, ok = trunkFrom(set, addr)
	if !ok {
		return nil, caller, false
	}
	if trunk.IMS {
		if pai := req.GetHeader("P-Asserted-Identity"); pai != nil {
			if u := assertedUser(pai.Value()); u != "" {
				caller = u
			}
		}
	}
	return trunk, caller, true
}

// assertedUser is the number of a P-Asserted-Identity value:
// "<tel:+8613800138000>", "<sip:+86471...@ims.example;user=phone>", with
// or without a display name; the first identity when there are two.
func assertedUser(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	v = strings.TrimSpace(strings.SplitN(v, ",", 2)[0])
	switch {
	case strings.HasPrefix(v, "tel:"):
		v = strings.TrimPrefix(v, "tel:")
	case strings.HasPrefix(v, "sip:"), strings.HasPrefix(v, "sips:"):
		v = v[strings.IndexByte(v, ':')+1:]
		if at := strings.IndexByte(v, '@'); at >= 0 {
			v = v[:at]
		} else {
			return ""
		}
	default:
		return ""
	}
	if semi := strings.IndexByte(v, ';'); semi >= 0 {
		v = v[:semi]
	}
	return v
}

func trunkName(t *Trunk) string {
	if t == nil {
		return ""
	}
	return t.Name
}
