package telephony

import "github.com/hotline12345/hotline/core/registry"

var trunkExamples = []registry.Example{{Title: "A registered carrier trunk dialling out mobile numbers", YAML: `kind: trunk
name: example-carrier
label: 运营商中继
proxy: sip.example.net
transport: udp
addresses: [192.0.2.0/24]
max_calls: 30
register: {username: "12345", password_env: HOTLINE_EXAMPLE_TRUNK_PASSWORD}
caller_id: "12345"
strip: ["+86"]
outbound: {priority: 1, numbers: ["^1[3-9][0-9]{9}$"]}
`}}
