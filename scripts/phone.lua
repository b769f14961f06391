-- Caller-number normalisation: trunks deliver numbers as +86 138…, 86138…,
-- 0471-6612345 or a bare local 6612345. Everything downstream (in-transit
-- hints, caller history, blacklists) compares one canonical form:
--   mobile:   11 digits, 1[3-9]xxxxxxxxx
--   landline: area code with leading 0, then the local number (7–8 digits)
-- area is the centre's own area code, used for bare local numbers.

local function digits(s)
  return (string.gsub(s, "%D", ""))
end

function normalize(phone, area)
  area = area or "0471"
  local d = digits(phone or "")
  if str.has_prefix(d, "0086") then
    d = string.sub(d, 5)
  elseif str.has_prefix(d, "86") and string.len(d) == 13 then
    d = string.sub(d, 3)
  end
  if re.match("^1[3-9][0-9]{9}$", d) then
    return d
  end
  if re.match("^0[1-9][0-9]{1,2}[2-9][0-9]{6,7}$", d) then
    return d
  end
  if re.match("^[2-9][0-9]{6,7}$", d) then
    return area .. d
  end
  error("不是有效的电话号码：" .. (phone or ""))
end

-- kind tells a mobile number from a landline, for the callback desk.
function kind(phone)
  local n = normalize(phone)
  if string.sub(n, 1, 1) == "1" then
    return "mobile"
  end
  return "landline"
end

-- Flow hook of the registration actions: store the caller's numbers in
-- canonical form. Returns the fields to update; an invalid number refuses
-- the registration with the message of error().
function normalize_ticket(ticket, input)
  local out = {}
  for _, key in ipairs({"caller_phone", "contact_phone"}) do
    local v = input[key]
    if v ~= nil and v ~= "" then
      out[key] = normalize(v)
    end
  end
  return out
end
