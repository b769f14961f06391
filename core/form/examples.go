package form

import "github.com/hotline12345/hotline/core/registry"

var formExamples = []registry.Example{{Title: "A visit record with a conditional field and a rule", YAML: `kind: form
name: example-visit
label: 走访登记
fields:
  - {name: visitor, label: 走访人, type: person, required: true}
  - {name: way, label: 走访方式, type: choice, options: {list: [电话, 上门]}, default: 电话}
  - {name: address, label: 走访地址, type: text, visible: "values.way == '上门'"}
  - {name: visited_on, label: 走访日期, type: date, required: true}
rules:
  - {rule: "values.way != '上门' || (values.address ?? '') != ''", message: 上门走访请填写地址, field: address}
`}}

var divisionExamples = []registry.Example{{Title: "Rural divisions down to the grid (网格)", YAML: `kind: division
name: example-rural
label: 农村区划
levels:
  - {key: county, label: 县}
  - {key: town, label: 乡镇}
  - {key: village, label: 村}
  - {key: grid, label: 网格}
`}}

var dictionaryExamples = []registry.Example{
	{Title: "A list", YAML: `kind: dictionary
name: example-channel
label: 反映渠道
items: [电话, 微信, 网站]
`},
	{Title: "A tree", YAML: `kind: dictionary
name: example-category
label: 诉求分类
items:
  - value: 城乡建设
    children: [道路维修, 供水供电]
  - value: 社会保障
    children: [养老保险, 医疗保险]
`},
}
