#include "ops/ops_result.h"

namespace tally {

std::string_view ops_error_kind_name(OpsError::Kind kind) {
  switch (kind) {
    case OpsError::Kind::unavailable:
      return "unavailable";
    case OpsError::Kind::timeout:
      return "timeout";
    case OpsError::Kind::http:
      return "http";
    case OpsError::Kind::etcd:
      return "etcd";
    case OpsError::Kind::protocol:
      return "protocol";
    case OpsError::Kind::io:
      return "io";
    case OpsError::Kind::invalid:
      return "invalid";
  }
  return "unknown";
}

std::string OpsError::to_string() const {
  std::string s(ops_error_kind_name(kind));
  if (http_status != 0 || etcd_code >= 0) {
    s += " (";
    if (http_status != 0) s += "HTTP " + std::to_string(http_status);
    if (http_status != 0 && etcd_code >= 0) s += ", ";
    if (etcd_code >= 0) s += "code " + std::to_string(etcd_code);
    s += ")";
  }
  s += ": ";
  s += message;
  return s;
}

}  // namespace tally
