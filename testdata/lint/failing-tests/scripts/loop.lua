function spin()
  while true do end
end

function greet(name)
  return "您好，" .. name
end
