#include "property/generators.hpp"

#include "support/keys.hpp"

namespace weft::test {

rc::Gen<WriteOp> gen_write_op(int writers) {
  return rc::gen::build<WriteOp>(rc::gen::set(&WriteOp::writer, rc::gen::inRange(0, writers)),
                                 rc::gen::set(&WriteOp::erase, rc::gen::weightedElement<bool>({{1, true}, {3, false}})),
                                 rc::gen::set(&WriteOp::name, rc::gen::inRange(0, 6)),
                                 rc::gen::set(&WriteOp::value, rc::gen::inRange(2, 250)),
                                 rc::gen::set(&WriteOp::advance_ms, rc::gen::inRange(0, 3)));
}

std::vector<crdt::Record> apply_ops(std::vector<crdt::Replica>& writers, const std::vector<WriteOp>& ops,
                                    uint64_t t0) {
  std::vector<crdt::Record> out;
  uint64_t t = t0;
  for (const auto& op : ops) {
    t += op.advance_ms;
    auto& w = writers.at(op.writer);
    std::string name = "svc" + std::to_string(op.name);
    if (op.erase) {
      if (auto r = w.erase(crdt::Kind::service_instance, name, t)) out.push_back(*r);
    } else {
      out.push_back(w.put(crdt::Kind::service_instance, name,
                          service_value(name, "10.210.1." + std::to_string(op.value)), t));
    }
  }
  return out;
}

std::vector<crdt::Replica> make_replicas(int count, uint8_t first_seed) {
  std::vector<crdt::Replica> out;
  for (int i = 0; i < count; ++i) out.push_back(test_replica(static_cast<uint8_t>(first_seed + i)));
  return out;
}

}  // namespace weft::test
