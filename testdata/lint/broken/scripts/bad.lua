-- 地址规范化
function normalize(addr)
  local s = string.gsub(addr, "呼市", "呼和浩特市"
  return s
end
