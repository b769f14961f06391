package identity

import "github.com/hotline12345/hotline/core/registry"

var roleExamples = []registry.Example{{Title: "Reviewers of their unit and the units below", YAML: `kind: role
name: example-reviewer
label: 复核员
description: 复核本单位及下级单位办结的工单。
scope: subtree
permissions: [user.read, personal.view]
`}}
