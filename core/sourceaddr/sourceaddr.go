// Package sourceaddr says which client addresses count as one source for
// rate limits and throttles.
//
// An IPv4 address is one source. An IPv6 host is handed a whole /64 by
// its network (RFC 6177, SLAAC needs one), so it can send from 2^64
// addresses: counting each address alone would let it rotate past any
// per-source limit. Its /64 is the source instead.
package sourceaddr

import "net/netip"

// Key is the source ip belongs to: an IPv4 address (also when written
// IPv4-mapped, ::ffff:a.b.c.d) as a /32, an IPv6 address as its /64; the
// zone is dropped (fe80::1%eth0 and fe80::1%eth1 are one source). An
// invalid ip gives the zero Prefix. Keys compare with ==, so they key a
// map without allocating.
func Key(ip netip.Addr) netip.Prefix {
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.Prefix(64) // cannot fail: a valid IPv6 address without a zone
	return p
}

// String is Key written as logs and tables show a source: an IPv4
// address alone (192.0.2.1), an IPv6 prefix with its length
// (2001:db8:1:2::/64); "" for an invalid ip.
func String(ip netip.Addr) string {
	k := Key(ip)
	switch {
	case !k.IsValid():
		return ""
	case k.Addr().Is4():
		return k.Addr().String()
	}
	return k.String()
}
