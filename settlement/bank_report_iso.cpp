// ISO 20022 bank reports: pain.002.001.03 and camt.054.001.02, read with libxml2 (contract in
// settlement/bank_report.h, mappings in docs/payout-rails.md).
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <span>

#include "settlement/bank_report.h"
#include "settlement/bank_text.h"
#include "settlement/config.h"

namespace tally {

namespace {

constexpr std::string_view kPain002Ns = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03";
constexpr std::string_view kCamt054Ns = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02";
constexpr size_t kIdCharsMax = 35;       // Max35Text: MsgId, EndToEndId, AcctSvcrRef, ...
constexpr size_t kReasonCodeMax = 4;     // ExternalStatusReason1Code / ExternalReturnReason1Code
constexpr size_t kAmountDigitsMax = 18;  // ActiveOrHistoricCurrencyAndAmount: totalDigits 18
constexpr size_t kAmountFractionMax = 5;
constexpr size_t kFreeTextCharsMax = 1000;  // AddtlInf (Max105Text; some banks write more)

// libxml2 options: no network, no DTD loading, no entity substitution (XML_PARSE_NOENT and
// XML_PARSE_DTDLOAD are left out on purpose), no parser limits lifted (no XML_PARSE_HUGE), errors
// kept in the context instead of printed.
constexpr int kXmlOptions = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                            XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES | XML_PARSE_NOBLANKS;

struct CtxtFree {
  void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};
struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct XmlCharFree {
  void operator()(xmlChar* s) const { xmlFree(s); }
};

// Set when the document has a DOCTYPE; the parser is stopped there, before any declaration.
struct ParseState {
  bool doctype = false;
  long doctype_line = 0;
};

void refuse_doctype(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
  auto* ctxt = static_cast<xmlParserCtxt*>(ctx);
  auto* state = static_cast<ParseState*>(ctxt->_private);
  state->doctype = true;
  state->doctype_line = ctxt->input ? ctxt->input->line : 0;
  xmlStopParser(ctxt);
}

std::string_view sv(const xmlChar* s) {
  return s ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view();
}

bool xml_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && xml_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && xml_space(s.back())) s.remove_suffix(1);
  return s;
}

// Runs of XML white space become one space; the ends are trimmed.
std::string collapse(std::string_view s) {
  std::string out;
  for (char c : trim(s)) {
    if (xml_space(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// An element and its path ("/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[2]").
struct El {
  const xmlNode* node = nullptr;
  std::string path;
};

// Reads one document of one namespace: element lookups, text, and the problems found.
class Reader {
 public:
  Reader(std::string_view format, std::string_view ns, Problems& problems)
      : format_(format), ns_(ns), problems_(problems) {}

  std::string where(const El& e) const {
    return e.path + " (line " + std::to_string(xmlGetLineNo(e.node)) + ")";
  }
  void fail(const El& e, const std::string& why) {
    problems_.add(Code::bad_request, std::string(format_) + ": " + where(e) + ": " + why);
  }

  // Child elements of `parent` called `name` in the document's namespace. `repeated`: the
  // element may occur more than once, so its path carries an index.
  std::vector<El> all(const El& parent, std::string_view name, bool repeated = true) const {
    std::vector<El> out;
    for (const xmlNode* c = parent.node->children; c; c = c->next) {
      if (c->type != XML_ELEMENT_NODE || sv(c->name) != name) continue;
      if (!c->ns || sv(c->ns->href) != ns_) continue;
      out.push_back(El{c, parent.path + "/" + std::string(name) +
                              (repeated ? "[" + std::to_string(out.size() + 1) + "]" : "")});
    }
    return out;
  }
  // At most one such child (a problem when there are more).
  std::optional<El> opt(const El& parent, std::string_view name) {
    std::vector<El> v = all(parent, name, false);
    if (v.size() > 1) fail(v[1], "a second " + std::string(name) + " (at most one is allowed)");
    if (v.empty()) return std::nullopt;
    return v[0];
  }
  // Exactly one such child (a problem when it is missing or repeated).
  std::optional<El> one(const El& parent, std::string_view name) {
    std::optional<El> e = opt(parent, name);
    if (!e) fail(parent, "missing " + std::string(name));
    return e;
  }

  // The element's text, trimmed. A problem (and nullopt) when it has child elements.
  std::optional<std::string> text(const El& e) {
    std::string out;
    for (const xmlNode* c = e.node->children; c; c = c->next) {
      if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
        out += sv(c->content);
      } else if (c->type == XML_ELEMENT_NODE || c->type == XML_ENTITY_REF_NODE) {
        fail(e, "has content where text is expected");
        return std::nullopt;
      }
    }
    return std::string(trim(out));
  }
  // An id (Max35Text): 1..35 characters of UTF-8 without control characters.
  std::optional<std::string> id(const El& e) {
    std::optional<std::string> t = text(e);
    if (!t) return std::nullopt;
    std::optional<size_t> len = bank_text_length(*t);
    if (!len || *len == 0 || *len > kIdCharsMax) {
      fail(e, "\"" + clip(*t) + "\" is not an id of 1..35 characters");
      return std::nullopt;
    }
    return t;
  }
  std::optional<std::string> opt_id(const El& parent, std::string_view name) {
    std::optional<El> e = opt(parent, name);
    return e ? id(*e) : std::nullopt;
  }
  std::optional<std::string> one_id(const El& parent, std::string_view name) {
    std::optional<El> e = one(parent, name);
    return e ? id(*e) : std::nullopt;
  }
  // One of `codes`.
  std::optional<std::string> code(const El& e, std::span<const std::string_view> codes,
                                  std::string_view what) {
    std::optional<std::string> t = text(e);
    if (!t) return std::nullopt;
    if (std::find(codes.begin(), codes.end(), *t) == codes.end()) {
      std::string list;
      for (std::string_view c : codes) list += (list.empty() ? "" : ", ") + std::string(c);
      fail(e, "\"" + clip(*t) + "\" is not " + std::string(what) + " (" + list + ")");
      return std::nullopt;
    }
    return t;
  }
  // Free text, white space collapsed.
  std::optional<std::string> free_text(const El& e) {
    std::optional<std::string> t = text(e);
    if (!t) return std::nullopt;
    std::string c = collapse(*t);
    std::optional<size_t> len = bank_text_length(c);
    if (!len || *len > kFreeTextCharsMax) {
      fail(e, "is not text of at most 1000 characters without control characters");
      return std::nullopt;
    }
    return c;
  }
  // ActiveOrHistoricCurrencyAndAmount: Ccy="[A-Z]{3}", a non-negative decimal with at most 18
  // digits, 5 of them after the point.
  std::optional<ReportAmount> amount(const El& e) {
    std::optional<std::string> t = text(e);
    std::unique_ptr<xmlChar, XmlCharFree> ccy(
        xmlGetNoNsProp(e.node, reinterpret_cast<const xmlChar*>("Ccy")));
    if (!t) return std::nullopt;
    std::string_view c = sv(ccy.get());
    bool ok_ccy = c.size() == 3 &&
                  std::all_of(c.begin(), c.end(), [](char x) { return x >= 'A' && x <= 'Z'; });
    if (!ok_ccy) {
      fail(e, ccy ? "currency \"" + clip(c) + "\" is not [A-Z]{3}" : "no Ccy attribute");
      return std::nullopt;
    }
    size_t dot = t->find('.');
    std::string_view whole = std::string_view(*t).substr(0, dot);
    std::string_view frac =
        dot == std::string::npos ? std::string_view() : std::string_view(*t).substr(dot + 1);
    if (!all_digits(whole) || (dot != std::string::npos && !all_digits(frac)) ||
        frac.size() > kAmountFractionMax || whole.size() + frac.size() > kAmountDigitsMax) {
      fail(e, "\"" + clip(*t) +
                  "\" is not an amount (digits, optional '.' and at most 5 decimals, 18 digits)");
      return std::nullopt;
    }
    return ReportAmount{std::string(c), *t};
  }
  // A date from DateAndDateTimeChoice (Dt, or the date of DtTm).
  std::optional<Date> date_choice(const El& e) {
    std::optional<El> d = opt(e, "Dt");
    std::optional<El> dt = opt(e, "DtTm");
    if (!d == !dt) {
      fail(e, "needs exactly one of Dt, DtTm");
      return std::nullopt;
    }
    std::optional<std::string> t = text(d ? *d : *dt);
    if (!t) return std::nullopt;
    std::string_view day = *t;
    if (dt && (day.size() < 19 || day[10] != 'T')) {
      fail(*dt, "\"" + clip(*t) + "\" is not a date-time");
      return std::nullopt;
    }
    Result<Date> r = parse_date(dt ? day.substr(0, 10) : day, "");
    if (!r.ok()) {
      fail(d ? *d : *dt, "\"" + clip(*t) + "\" is not a date YYYY-MM-DD");
      return std::nullopt;
    }
    return *r;
  }
  // StsRsnInf / RtrInf reasons: the first Rsn (Cd, else Prtry) and every AddtlInf.
  void reasons(const std::vector<El>& infos, std::string& code, std::string& info) {
    for (const El& i : infos) {
      if (std::optional<El> rsn = opt(i, "Rsn")) {
        std::optional<El> cd = opt(*rsn, "Cd");
        std::optional<El> prtry = opt(*rsn, "Prtry");
        if (!cd == !prtry) fail(*rsn, "needs exactly one of Cd, Prtry");
        std::optional<std::string> c;
        if (cd) {
          c = text(*cd);
          if (c && (c->empty() || c->size() > kReasonCodeMax || !printable_ascii(*c) ||
                    c->find(' ') != std::string::npos)) {
            fail(*cd, "\"" + clip(*c) + "\" is not a reason code of 1..4 characters");
            c.reset();
          }
        } else if (prtry) {
          c = id(*prtry);
        }
        if (c && code.empty()) code = *c;
      }
      for (const El& a : all(i, "AddtlInf")) {
        std::optional<std::string> t = free_text(a);
        if (t && !t->empty()) info += (info.empty() ? "" : " ") + *t;
      }
    }
  }

  // Quoted input cut to `max` characters (bytes), so that a message stays readable.
  static std::string clip(std::string_view s, size_t max = 40) {
    return s.size() <= max ? std::string(s) : std::string(s.substr(0, max - 3)) + "...";
  }

 private:
  std::string_view format_;
  std::string_view ns_;
  Problems& problems_;
};

// --- pain.002.001.03 ---------------------------------------------------------------------------

constexpr std::string_view kGroupStatuses[] = {"ACCP", "ACSC", "ACSP", "ACTC", "ACWC",
                                               "PART", "PDNG", "RCVD", "RJCT"};
constexpr std::string_view kTxStatuses[] = {"ACCP", "ACSC", "ACSP", "ACTC", "ACWC", "PDNG", "RJCT"};

ReportOutcome status_outcome(std::string_view s) {
  if (s == "RJCT") return ReportOutcome::rejected;
  if (s == "PDNG" || s == "RCVD" || s == "PART") return ReportOutcome::pending;
  return ReportOutcome::accepted;  // ACCP, ACSC, ACSP, ACTC, ACWC
}

// A status stated at some level, with its reasons.
struct Status {
  std::string code, reason, info;
};

void read_pain002(Reader& r, const El& doc, BankReport& out) {
  std::optional<El> rpt = r.one(doc, "CstmrPmtStsRpt");
  if (!rpt) return;
  if (std::optional<El> grp = r.one(*rpt, "GrpHdr")) {
    out.message_id = r.one_id(*grp, "MsgId").value_or("");
    if (std::optional<El> t = r.one(*grp, "CreDtTm")) out.created_at = r.text(*t).value_or("");
  }
  std::optional<Status> group;
  std::optional<El> og = r.one(*rpt, "OrgnlGrpInfAndSts");
  if (og) {
    out.original_message_id = r.one_id(*og, "OrgnlMsgId").value_or("");
    out.original_message_name = r.one_id(*og, "OrgnlMsgNmId").value_or("");
    if (std::optional<El> s = r.opt(*og, "GrpSts")) {
      if (std::optional<std::string> c = r.code(*s, kGroupStatuses, "a group status")) {
        group = Status{*c, "", ""};
        r.reasons(r.all(*og, "StsRsnInf"), group->reason, group->info);
      }
    }
  }
  std::vector<El> batches = r.all(*rpt, "OrgnlPmtInfAndSts");
  for (const El& pi : batches) {
    std::optional<std::string> pmt_inf_id = r.one_id(pi, "OrgnlPmtInfId");
    std::optional<Status> batch;
    if (std::optional<El> s = r.opt(pi, "PmtInfSts")) {
      if (std::optional<std::string> c =
              r.code(*s, kGroupStatuses, "a payment information status")) {
        batch = Status{*c, "", ""};
        r.reasons(r.all(pi, "StsRsnInf"), batch->reason, batch->info);
      }
    }
    std::vector<El> txs = r.all(pi, "TxInfAndSts");
    // The batch's own line: when it gives no transactions, and always for a rejected batch (it
    // rejects every transaction of the batch, listed or not).
    if (batch && pmt_inf_id && (txs.empty() || batch->code == "RJCT")) {
      out.lines.push_back(BankReportLine{pi.path, size_t(xmlGetLineNo(pi.node)),
                                         ReferenceKind::payment_information_id, *pmt_inf_id, "",
                                         status_outcome(batch->code), batch->reason, batch->info,
                                         std::nullopt, std::nullopt});
    }
    if (txs.empty() && !batch && !group)
      r.fail(pi, "states no status (no PmtInfSts, no TxInfAndSts, no GrpSts)");
    for (const El& tx : txs) {
      BankReportLine line;
      line.location = tx.path;
      line.line = size_t(xmlGetLineNo(tx.node));
      line.reference_kind = ReferenceKind::end_to_end_id;
      std::optional<El> e2e = r.opt(tx, "OrgnlEndToEndId");
      if (!e2e) {
        r.fail(tx, "no OrgnlEndToEndId: the transaction cannot be matched to a payout");
      } else if (std::optional<std::string> v = r.id(*e2e)) {
        line.reference = *v;
      }
      line.bank_reference = r.opt_id(tx, "StsId").value_or("");
      r.opt_id(tx, "AcctSvcrRef");  // checked, not used
      std::optional<Status> st;
      if (std::optional<El> s = r.opt(tx, "TxSts")) {
        if (std::optional<std::string> c = r.code(*s, kTxStatuses, "a transaction status")) {
          st = Status{*c, "", ""};
          r.reasons(r.all(tx, "StsRsnInf"), st->reason, st->info);
        }
      } else if (batch) {
        st = batch;
      } else if (group) {
        st = group;
      } else {
        r.fail(tx, "states no status (no TxSts, PmtInfSts or GrpSts)");
      }
      if (std::optional<El> ref = r.opt(tx, "OrgnlTxRef"))
        if (std::optional<El> amt = r.opt(*ref, "Amt"))
          if (std::optional<El> instd = r.opt(*amt, "InstdAmt")) line.amount = r.amount(*instd);
      if (st) {
        line.outcome = status_outcome(st->code);
        line.reason = st->reason;
        line.reason_info = st->info;
      }
      out.lines.push_back(std::move(line));
    }
  }
  // The group's own line: when nothing more detailed is given, and always for a rejected group
  // (it rejects every transaction of the message, listed or not).
  if (group && og && (batches.empty() || group->code == "RJCT")) {
    out.lines.insert(
        out.lines.begin(),
        BankReportLine{og->path, size_t(xmlGetLineNo(og->node)), ReferenceKind::message_id,
                       out.original_message_id, "", status_outcome(group->code), group->reason,
                       group->info, std::nullopt, std::nullopt});
  }
  if (og && !group && batches.empty())
    r.fail(*og, "the report states no status (no GrpSts and no OrgnlPmtInfAndSts)");
}

// --- camt.054.001.02 ---------------------------------------------------------------------------

constexpr std::string_view kCreditDebit[] = {"CRDT", "DBIT"};
constexpr std::string_view kEntryStatuses[] = {"BOOK", "PDNG", "INFO"};
constexpr std::string_view kBooleans[] = {"true", "false", "1", "0"};

void read_camt054(Reader& r, const El& doc, BankReport& out) {
  std::optional<El> ntf = r.one(doc, "BkToCstmrDbtCdtNtfctn");
  if (!ntf) return;
  if (std::optional<El> grp = r.one(*ntf, "GrpHdr")) {
    out.message_id = r.one_id(*grp, "MsgId").value_or("");
    if (std::optional<El> t = r.one(*grp, "CreDtTm")) out.created_at = r.text(*t).value_or("");
  }
  std::vector<El> notifications = r.all(*ntf, "Ntfctn");
  if (notifications.empty()) r.fail(*ntf, "missing Ntfctn");
  auto ignore = [&](const El& e, const std::string& why) {
    out.ignored.push_back(r.where(e) + ": " + why);
  };
  for (const El& n : notifications) {
    r.one_id(n, "Id");
    for (const El& entry : r.all(n, "Ntry")) {
      std::optional<ReportAmount> entry_amount;
      if (std::optional<El> a = r.one(entry, "Amt")) entry_amount = r.amount(*a);
      std::optional<std::string> cd, sts, rvsl;
      if (std::optional<El> e = r.one(entry, "CdtDbtInd"))
        cd = r.code(*e, kCreditDebit, "CRDT or DBIT");
      if (std::optional<El> e = r.one(entry, "Sts"))
        sts = r.code(*e, kEntryStatuses, "an entry status");
      if (std::optional<El> e = r.opt(entry, "RvslInd")) rvsl = r.code(*e, kBooleans, "a boolean");
      std::optional<Date> booked;
      if (std::optional<El> e = r.opt(entry, "BookgDt")) booked = r.date_choice(*e);
      std::string entry_ref = r.opt_id(entry, "AcctSvcrRef").value_or("");
      std::vector<El> txs;
      for (const El& d : r.all(entry, "NtryDtls"))
        for (El& t : r.all(d, "TxDtls")) txs.push_back(std::move(t));
      if (txs.empty() && cd && sts) ignore(entry, "an entry without transaction details");
      for (const El& tx : txs) {
        std::string e2e, tx_ref;
        if (std::optional<El> refs = r.opt(tx, "Refs")) {
          e2e = r.opt_id(*refs, "EndToEndId").value_or("");
          tx_ref = r.opt_id(*refs, "AcctSvcrRef").value_or("");
        }
        if (e2e == "NOTPROVIDED") e2e.clear();
        std::optional<ReportAmount> amount;
        if (std::optional<El> ad = r.opt(tx, "AmtDtls")) {
          for (std::string_view which : {"TxAmt", "InstdAmt"}) {
            if (std::optional<El> w = r.opt(*ad, which)) {
              std::optional<El> a = r.one(*w, "Amt");
              std::optional<ReportAmount> v = a ? r.amount(*a) : std::nullopt;
              if (!amount) amount = v;
            }
          }
        }
        if (!amount && txs.size() == 1) amount = entry_amount;
        std::optional<El> rtr = r.opt(tx, "RtrInf");
        std::string reason, info;
        if (rtr) r.reasons({*rtr}, reason, info);
        if (!cd || !sts) continue;  // already a problem
        bool credit = *cd == "CRDT";
        if (rvsl && (*rvsl == "true" || *rvsl == "1")) {
          ignore(tx, "a reversal entry (RvslInd): not read as a payout outcome, check it by hand");
          continue;
        }
        if (*sts == "INFO") {
          ignore(tx, "status INFO: not booked");
          continue;
        }
        if (credit && !rtr) {
          ignore(tx, "a credit that is not a return (no RtrInf)");
          continue;
        }
        if (!credit && rtr) {
          ignore(tx, "a debit with RtrInf: a return of a payment received, not of a payout");
          continue;
        }
        if (e2e.empty()) {
          ignore(tx, credit ? "a return without EndToEndId: it cannot be matched to a payout"
                            : "a debit without EndToEndId: not a payout tally sent");
          continue;
        }
        BankReportLine line;
        line.location = tx.path;
        line.line = size_t(xmlGetLineNo(tx.node));
        line.reference_kind = ReferenceKind::end_to_end_id;
        line.reference = e2e;
        line.bank_reference = tx_ref.empty() ? entry_ref : tx_ref;
        line.outcome = *sts == "PDNG" ? ReportOutcome::pending
                                      : (credit ? ReportOutcome::returned : ReportOutcome::paid);
        line.reason = reason;
        line.reason_info = info;
        line.amount = amount;
        line.date = booked;
        out.lines.push_back(std::move(line));
      }
    }
  }
}

}  // namespace

Result<BankReport> parse_iso20022_report(std::string_view xml) {
  if (xml.size() > bank_report_bytes_max)
    return reject(Code::bad_request,
                  "bank report: " + std::to_string(xml.size()) + " bytes, more than the " +
                      std::to_string(bank_report_bytes_max >> 20) + " MiB a report may have");
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });

  std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
  if (!ctxt) return reject(Code::internal, "bank report: libxml2 could not make a parser");
  ParseState state;
  ctxt->_private = &state;
  ctxt->sax->internalSubset = refuse_doctype;
  std::unique_ptr<xmlDoc, DocFree> doc(xmlCtxtReadMemory(
      ctxt.get(), xml.data(), static_cast<int>(xml.size()), "report.xml", nullptr, kXmlOptions));
  if (state.doctype)
    return reject(Code::bad_request, "bank report: line " + std::to_string(state.doctype_line) +
                                         ": a DOCTYPE is not allowed in a bank report");
  if (!doc || !ctxt->wellFormed || !ctxt->nsWellFormed) {
    const xmlError* e = xmlCtxtGetLastError(ctxt.get());
    std::string why = e && e->message ? std::string(trim(e->message)) : "not well-formed XML";
    int line = e ? e->line : 0;
    return reject(Code::bad_request,
                  "bank report: line " + std::to_string(line) + ": not well-formed XML: " + why);
  }
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  std::string_view ns = root && root->ns ? sv(root->ns->href) : std::string_view();
  if (!root || sv(root->name) != "Document" || (ns != kPain002Ns && ns != kCamt054Ns)) {
    std::string found = root ? "<" + std::string(sv(root->name)) + "> in namespace \"" +
                                   Reader::clip(ns, 100) + "\""
                             : "no root element";
    return reject(Code::bad_request, "bank report: /" + std::string(root ? sv(root->name) : "") +
                                         " (line " + std::to_string(root ? xmlGetLineNo(root) : 0) +
                                         "): " + found + "; tally reads <Document> of " +
                                         std::string(kPain002Ns) + " or " +
                                         std::string(kCamt054Ns));
  }
  BankReport out;
  out.format = ns == kPain002Ns ? ReportFormat::pain002 : ReportFormat::camt054;
  Problems problems;
  Reader r(report_format_name(out.format), ns, problems);
  El top{root, "/Document"};
  if (out.format == ReportFormat::pain002)
    read_pain002(r, top, out);
  else
    read_camt054(r, top, out);
  if (!problems.empty()) return problems.rejection();
  return out;
}

}  // namespace tally
