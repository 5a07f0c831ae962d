#include "dns/zone.hpp"

#include <algorithm>
#include <cctype>

#include "crdt/subnet.hpp"
#include "crdt/values.hpp"

namespace weft::dns {

namespace {

const std::string kZone = "internal";

std::string dashed(uint32_t a) {
  return std::to_string(a >> 24) + "-" + std::to_string(a >> 16 & 0xff) + "-" + std::to_string(a >> 8 & 0xff) + "-" +
         std::to_string(a & 0xff);
}

std::optional<uint32_t> parse_dashed(const std::string& s) {
  auto ip = Ipv4::parse([&] {
    std::string t = s;
    std::replace(t.begin(), t.end(), '-', '.');
    return t;
  }());
  if (!ip) return std::nullopt;
  return ip->value;
}

Name name_of(std::initializer_list<std::string> labels) {
  Name n;
  for (const auto& l : labels) n.labels.push_back(l);
  return n;
}

Name internal_name(std::vector<std::string> labels) {
  Name n;
  n.labels = std::move(labels);
  n.labels.push_back(kZone);
  return n;
}

Record a_record(const Name& owner, uint32_t address, uint32_t ttl) {
  Record r;
  r.name = owner;
  r.rtype = type::A;
  r.ttl = ttl;
  r.a = address;
  return r;
}

Record soa_record(const Name& apex, const ZoneView& v) {
  Record r;
  r.name = apex;
  r.rtype = type::SOA;
  r.ttl = kMachineTtl;
  r.soa_mname = internal_name({lowercase(v.self_name), "m"});
  r.soa_rname = internal_name({"hostmaster"});
  r.soa_serial = v.serial;
  r.soa_refresh = 3600;
  r.soa_retry = 600;
  r.soa_expire = 86400;
  r.soa_minimum = kNegativeTtl;
  return r;
}

Record ns_record(const Name& apex, const ZoneView& v) {
  Record r;
  r.name = apex;
  r.rtype = type::NS;
  r.ttl = kMachineTtl;
  r.target = internal_name({lowercase(v.self_name), "m"});
  return r;
}

bool ends_with(const std::vector<std::string>& labels, const std::vector<std::string>& suffix) {
  if (labels.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), labels.end() - static_cast<long>(suffix.size()));
}

bool wants(uint16_t qtype, uint16_t rtype) { return qtype == rtype || qtype == type::ANY; }

// What one name holds: records of every type, and whether the name exists at all.
struct Lookup {
  bool exists = false;
  std::vector<Record> records;     // all types; filtered by qtype afterwards
  std::vector<Record> additional;  // glue for SRV targets
};

Lookup lookup_internal(const std::vector<std::string>& rel, const Name& asked, const ZoneView& v, Rng& rng) {
  Lookup out;
  auto instances_of = [&](const std::string& service) -> const std::vector<Instance>* {
    auto it = v.services.find(service);
    return it == v.services.end() || it->second.empty() ? nullptr : &it->second;
  };
  auto shuffled_a = [&](std::vector<Instance> list, bool local_first) {
    rng.shuffle(list);
    if (local_first)
      std::stable_partition(list.begin(), list.end(), [&](const Instance& i) { return i.owner == v.self; });
    std::set<uint32_t> seen;
    for (const auto& i : list)
      if (seen.insert(i.address).second) out.records.push_back(a_record(asked, i.address, kServiceTtl));
  };
  if (rel.empty()) {
    out.exists = true;
    out.records.push_back(soa_record(asked, v));
    out.records.push_back(ns_record(asked, v));
  } else if (rel.size() == 1 && (rel[0] == "m" || rel[0] == "ip")) {
    out.exists = true;  // empty non-terminals
  } else if (rel.size() == 2 && rel[1] == "m") {
    if (auto it = v.machines.find(rel[0]); it != v.machines.end()) {
      out.exists = true;
      out.records.push_back(a_record(asked, it->second, kMachineTtl));
    }
  } else if (rel.size() == 2 && rel[1] == "ip") {
    if (auto a = parse_dashed(rel[0]); a && v.reverse.count(*a) && dashed(*a) == rel[0]) {
      out.exists = true;
      out.records.push_back(a_record(asked, *a, kServiceTtl));
    }
  } else if (rel.size() == 2 && rel[0] == "nearest") {
    if (const auto* list = instances_of(rel[1])) {
      out.exists = true;
      shuffled_a(*list, true);
    }
  } else if (rel.size() == 1) {
    if (const auto* list = instances_of(rel[0])) {
      out.exists = true;
      shuffled_a(*list, false);
    }
  } else if ((rel.size() == 2 || rel.size() == 3) && rel[rel.size() - 2].starts_with("_")) {
    // _<proto>.<service> (an empty non-terminal) or _<port>._<proto>.<service> (SRV).
    const auto* list = instances_of(rel.back());
    std::string proto = rel[rel.size() - 2].substr(1);
    std::string port = rel.size() == 3 && rel[0].starts_with("_") ? rel[0].substr(1) : "";
    if (list && (rel.size() == 2 || !port.empty())) {
      std::vector<Instance> matching;
      for (const auto& i : *list)
        if (i.port && i.protocol == proto && (rel.size() == 2 || i.port_name == port)) matching.push_back(i);
      if (!matching.empty()) {
        out.exists = true;
        if (rel.size() == 3) {
          rng.shuffle(matching);
          for (const auto& i : matching) {
            Record srv;
            srv.name = asked;
            srv.rtype = type::SRV;
            srv.ttl = kServiceTtl;
            srv.priority = 0;
            srv.weight = 10;
            srv.port = i.port;
            srv.target = internal_name({dashed(i.address), "ip"});
            out.records.push_back(srv);
            out.additional.push_back(a_record(srv.target, i.address, kServiceTtl));
          }
        }
      }
    }
  }
  return out;
}

}  // namespace

Name reverse_apex(const Ipv4Net& network) {
  Name n;
  unsigned octets = network.prefix / 8;
  for (unsigned k = octets; k-- > 0;) n.labels.push_back(std::to_string(network.base.value >> (24 - 8 * k) & 0xff));
  n.labels.push_back("in-addr");
  n.labels.push_back("arpa");
  return n;
}

ZoneView build_view(const crdt::ClusterState& state, const std::set<crdt::OwnerId>& live, const crdt::OwnerId& self,
                    const Ipv4Net& network) {
  ZoneView v;
  v.self = self;
  v.network = network;
  auto holders = crdt::subnet_holders(state);
  std::map<crdt::OwnerId, uint32_t> dot_one;
  for (const auto& [subnet, holder] : holders)
    if (network.contains(subnet.base)) dot_one.emplace(holder.owner, subnet.base.value + 1);
  uint64_t serial = 0;
  state.for_each_of_kind(crdt::Kind::machine, [&](const crdt::Record& r) {
    serial += r.hlc.millis();
    if (r.tombstone || !live.count(r.key.owner)) return;
    auto m = crdt::decode_machine(r.value);
    // Records are checked on merge; a name that cannot be one DNS label never reaches the view.
    if (!m || !crdt::valid_machine_name(m->name)) return;
    if (r.key.owner == self) v.self_name = m->name;
    auto it = dot_one.find(r.key.owner);
    if (it == dot_one.end()) return;
    v.machines[lowercase(m->name)] = it->second;
    v.reverse[it->second] = lowercase(m->name) + ".m." + kZone;
  });
  state.for_each_of_kind(crdt::Kind::service_instance, [&](const crdt::Record& r) {
    serial += r.hlc.millis();
    if (r.tombstone || !live.count(r.key.owner)) return;
    auto s = crdt::decode_service_instance(r.value);
    if (!s || !s->healthy || !crdt::valid_service_name(s->service)) return;
    auto ip = Ipv4::parse(s->address);
    if (!ip) return;
    Instance i{ip->value, s->port, lowercase(s->protocol), lowercase(s->port_name), r.key.owner};
    std::string service = lowercase(s->service);
    v.services[service].push_back(i);
    v.reverse.try_emplace(ip->value, service + "." + kZone);  // a machine's .1 keeps its own name
  });
  v.serial = static_cast<uint32_t>(serial ^ (serial >> 32)) | 1;
  return v;
}

Response error_response(const Query& q, uint16_t rcode, bool with_question) {
  Response r;
  r.id = q.id;
  r.opcode = q.opcode;
  r.rd = q.rd;
  r.cd = q.cd;
  r.rcode = rcode;
  if (with_question) r.question = q.question;
  r.edns = q.edns;
  return r;
}

std::optional<Response> answer(const Query& q, const ZoneView& v, Rng& rng) {
  std::vector<std::string> labels;
  for (const auto& l : q.question.name.labels) labels.push_back(lowercase(l));
  Name reverse = reverse_apex(v.network);
  std::vector<std::string> reverse_labels = reverse.labels;
  bool internal = ends_with(labels, {kZone});
  bool in_reverse = !internal && ends_with(labels, reverse_labels);
  if (!internal && !in_reverse) return std::nullopt;

  Response r = error_response(q, rcode::noerror, true);
  r.aa = true;
  if (q.question.qtype == type::AXFR || q.question.qtype == type::IXFR) {
    r.rcode = rcode::refused;  // no zone transfers
    r.aa = false;
    return r;
  }
  if (q.question.qclass != kClassIn && q.question.qclass != kClassAny) {
    r.rcode = rcode::refused;
    r.aa = false;
    return r;
  }
  const Name& asked = q.question.name;
  Name apex = internal ? name_of({kZone}) : reverse;
  Lookup found;
  if (internal) {
    std::vector<std::string> rel(labels.begin(), labels.end() - 1);
    found = lookup_internal(rel, asked, v, rng);
  } else {
    size_t depth = labels.size() - reverse_labels.size();  // octets below the apex
    if (depth == 0) {
      if (v.network.prefix % 8) return std::nullopt;  // the apex covers more than the network
      found.exists = true;
      found.records.push_back(soa_record(asked, v));
      found.records.push_back(ns_record(asked, v));
    } else if (depth <= 4 - reverse_labels.size() + 2) {
      // The octets named so far, most significant first (labels are least significant first).
      std::vector<uint32_t> octets;
      bool numeric = true;
      for (size_t k = depth; k-- > 0;) {
        const std::string& l = labels[k];
        if (l.empty() || l.size() > 3 || !std::all_of(l.begin(), l.end(), ::isdigit) || std::stoul(l) > 255 ||
            (l.size() > 1 && l[0] == '0'))
          numeric = false;
        else
          octets.push_back(static_cast<uint32_t>(std::stoul(l)));
      }
      unsigned apex_octets = v.network.prefix / 8;
      if (numeric && apex_octets + octets.size() <= 4) {
        uint32_t prefix = v.network.base.value & (apex_octets ? ~uint32_t{0} << (32 - 8 * apex_octets) : 0);
        for (size_t k = 0; k < octets.size(); ++k) prefix |= octets[k] << (24 - 8 * (apex_octets + k));
        unsigned bits = 8 * static_cast<unsigned>(apex_octets + octets.size());
        uint32_t mask = bits >= 32 ? ~uint32_t{0} : ~(~uint32_t{0} >> bits);
        // Addresses outside the network are not ours (a /12's apex is a whole /8).
        unsigned common = std::min<unsigned>(bits, v.network.prefix);
        uint32_t common_mask = common >= 32 ? ~uint32_t{0} : ~(~uint32_t{0} >> common);
        if ((prefix & common_mask) != (v.network.base.value & common_mask)) return std::nullopt;
        if (bits == 32) {
          if (auto it = v.reverse.find(prefix); it != v.reverse.end()) {
            found.exists = true;
            if (auto target = Name::parse_text(it->second)) {
              Record ptr;
              ptr.name = asked;
              ptr.rtype = type::PTR;
              ptr.ttl = kMachineTtl;
              ptr.target = *target;
              found.records.push_back(ptr);
            }
          }
        } else {
          auto it = v.reverse.lower_bound(prefix);
          found.exists = it != v.reverse.end() && (it->first & mask) == prefix;  // an empty non-terminal
        }
      }
    }
  }
  for (auto& rec : found.records)
    if (wants(q.question.qtype, rec.rtype)) r.answers.push_back(rec);
  if (!found.exists) {
    r.rcode = rcode::nxdomain;
  } else if (r.answers.empty()) {
    // NODATA: the name exists without that type.
  } else {
    for (auto& add : found.additional)
      if (q.question.qtype == type::SRV || q.question.qtype == type::ANY) r.additional.push_back(add);
    return r;
  }
  Record soa = soa_record(apex, v);
  soa.ttl = kNegativeTtl;  // RFC 2308: the negative TTL is min(SOA TTL, SOA minimum)
  r.authority.push_back(soa);
  return r;
}

}  // namespace weft::dns
