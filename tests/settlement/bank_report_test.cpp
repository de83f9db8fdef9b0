#include "settlement/bank_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>

#include "common/test_util.h"
#include "settlement/ach.h"

namespace tally {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(TALLY_SOURCE_DIR) + "/fixtures/bank/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

// Readable values in failure messages.
void PrintTo(const BankReportLine& l, std::ostream* os) {
  *os << "{" << l.location << ", line " << l.line << ", " << reference_kind_name(l.reference_kind)
      << " \"" << l.reference << "\", bank \"" << l.bank_reference << "\", "
      << report_outcome_name(l.outcome) << ", reason \"" << l.reason << "\" \"" << l.reason_info
      << "\", amount ";
  if (l.amount)
    *os << l.amount->currency << " " << l.amount->value;
  else
    *os << "none";
  *os << ", date " << (l.date ? format_date(*l.date) : "none") << "}";
}

namespace {

Date day(int y, unsigned m, unsigned d) {
  return Date{date::year{y} / m / d};
}

BankReport parsed(std::string_view bytes) {
  Result<BankReport> r = parse_bank_report(bytes);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? std::move(r).value() : BankReport{};
}

Rejection refused(std::string_view bytes) {
  Result<BankReport> r = parse_bank_report(bytes);
  EXPECT_FALSE(r.ok());
  return r.ok() ? Rejection{} : r.error();
}

void replace(std::string& s, std::string_view from, std::string_view to) {
  size_t at = s.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  s.replace(at, from.size(), to);
}

const char* kPainNs = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03";

// A pain.002 document around `body` (what follows GrpHdr).
std::string pain002(std::string_view body) {
  return std::string("<?xml version=\"1.0\"?>\n<Document xmlns=\"") + kPainNs +
         "\"><CstmrPmtStsRpt>\n<GrpHdr><MsgId>M</MsgId><CreDtTm>2026-01-05T00:00:00</CreDtTm>"
         "</GrpHdr>\n" +
         std::string(body) + "\n</CstmrPmtStsRpt></Document>\n";
}

TEST(BankReportTest, Names) {
  EXPECT_EQ(report_format_name(ReportFormat::pain002), "pain.002.001.03");
  EXPECT_EQ(report_format_name(ReportFormat::camt054), "camt.054.001.02");
  EXPECT_EQ(report_format_name(ReportFormat::nacha_return), "nacha-return");
  EXPECT_EQ(report_outcome_name(ReportOutcome::returned), "returned");
  EXPECT_EQ(report_outcome_name(ReportOutcome::pending), "pending");
  EXPECT_EQ(reference_kind_name(ReferenceKind::payment_information_id), "payment_information_id");
}

// --- pain.002 --------------------------------------------------------------------------------

TEST(BankReportPain002Test, AllAcceptedByTheGroupStatus) {
  BankReport r = parsed(fixture("pain002_accepted.xml"));
  EXPECT_EQ(r.format, ReportFormat::pain002);
  EXPECT_EQ(r.message_id, "STS-20260105-0001");
  EXPECT_EQ(r.created_at, "2026-01-05T07:12:44");
  EXPECT_EQ(r.original_message_id, "shop-2026-01-05");
  EXPECT_EQ(r.original_message_name, "pain.001.001.03");
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0],
            (BankReportLine{"/Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts", 14,
                            ReferenceKind::message_id, "shop-2026-01-05", "",
                            ReportOutcome::accepted, "", "", std::nullopt, std::nullopt}));
  EXPECT_TRUE(r.ignored.empty());
}

TEST(BankReportPain002Test, OneTransactionRejectedWithAC04) {
  BankReport r = parsed(fixture("pain002_one_rejected.xml"));
  EXPECT_EQ(r.message_id, "STS-20260105-0002");
  EXPECT_EQ(r.created_at, "2026-01-05T09:30:00+01:00");
  // PART at group and batch level: the transactions say it all, no group or batch line.
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(
      r.lines[0],
      (BankReportLine{"/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[1]/TxInfAndSts[1]", 17,
                      ReferenceKind::end_to_end_id, "po-1", "BANK-TX-1", ReportOutcome::accepted,
                      "", "", ReportAmount{"EUR", "120.50"}, std::nullopt}));
  EXPECT_EQ(r.lines[1],
            (BankReportLine{"/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[1]/TxInfAndSts[2]", 28,
                            ReferenceKind::end_to_end_id, "po-2", "BANK-TX-2",
                            ReportOutcome::rejected, "AC04", "Account closed since 2025-12-01",
                            ReportAmount{"EUR", "0.99"}, std::nullopt}));
}

TEST(BankReportPain002Test, GroupRejectedWithoutTransactions) {
  BankReport r = parsed(fixture("pain002_group_rejected.xml"));
  ASSERT_EQ(r.lines.size(), 1u);
  const BankReportLine& l = r.lines[0];
  EXPECT_EQ(l.reference_kind, ReferenceKind::message_id);
  EXPECT_EQ(l.reference, "shop-2026-01-05");
  EXPECT_EQ(l.outcome, ReportOutcome::rejected);
  EXPECT_EQ(l.reason, "FF01");
  EXPECT_EQ(l.reason_info, "Invalid file format");
  EXPECT_EQ(l.location, "/Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts");
}

TEST(BankReportPain002Test, BatchStatusesAndInheritance) {
  std::string xml = pain002(R"(
<OrgnlGrpInfAndSts><OrgnlMsgId>run-1</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>
  <GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>run-1-USD</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts>
  <StsRsnInf><Rsn><Prtry>NO FUNDS ON ACCOUNT</Prtry></Rsn></StsRsnInf></OrgnlPmtInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>run-1-EUR</OrgnlPmtInfId><PmtInfSts>ACSP</PmtInfSts>
  <TxInfAndSts><OrgnlEndToEndId>a</OrgnlEndToEndId></TxInfAndSts>
  <TxInfAndSts><OrgnlEndToEndId>b</OrgnlEndToEndId><TxSts>PDNG</TxSts></TxInfAndSts>
  <TxInfAndSts><OrgnlEndToEndId>c</OrgnlEndToEndId><TxSts>ACWC</TxSts></TxInfAndSts>
</OrgnlPmtInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>run-1-COP</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts>
  <StsRsnInf><Rsn><Cd>AM04</Cd></Rsn></StsRsnInf>
  <TxInfAndSts><OrgnlEndToEndId>d</OrgnlEndToEndId><TxSts>RJCT</TxSts>
    <StsRsnInf><Rsn><Cd>AM04</Cd></Rsn></StsRsnInf></TxInfAndSts>
</OrgnlPmtInfAndSts>)");
  BankReport r = parsed(xml);
  ASSERT_EQ(r.lines.size(), 6u);
  // A rejected batch without transactions: one line for the whole batch.
  EXPECT_EQ(r.lines[0].reference_kind, ReferenceKind::payment_information_id);
  EXPECT_EQ(r.lines[0].reference, "run-1-USD");
  EXPECT_EQ(r.lines[0].outcome, ReportOutcome::rejected);
  EXPECT_EQ(r.lines[0].reason, "NO FUNDS ON ACCOUNT");
  EXPECT_EQ(r.lines[0].location, "/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[1]");
  // A transaction without TxSts takes its batch's status.
  EXPECT_EQ(r.lines[1].reference, "a");
  EXPECT_EQ(r.lines[1].outcome, ReportOutcome::accepted);
  EXPECT_EQ(r.lines[2].outcome, ReportOutcome::pending);
  EXPECT_EQ(r.lines[3].outcome, ReportOutcome::accepted);
  // A rejected batch with transactions: its own line too (it covers the unlisted ones).
  EXPECT_EQ(r.lines[4].reference_kind, ReferenceKind::payment_information_id);
  EXPECT_EQ(r.lines[4].reference, "run-1-COP");
  EXPECT_EQ(r.lines[5].reference, "d");
  EXPECT_EQ(r.lines[5].reason, "AM04");
  EXPECT_EQ(r.lines[5].location, "/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[3]/TxInfAndSts[1]");
}

TEST(BankReportPain002Test, EveryProblemIsReportedWithItsPath) {
  std::string xml = pain002(R"(<OrgnlGrpInfAndSts><OrgnlMsgId>run-1</OrgnlMsgId>
<OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId></OrgnlGrpInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>p</OrgnlPmtInfId>
<TxInfAndSts><OrgnlEndToEndId>a</OrgnlEndToEndId><TxSts>DONE</TxSts></TxInfAndSts>
<TxInfAndSts><TxSts>RJCT</TxSts></TxInfAndSts>
<TxInfAndSts><OrgnlEndToEndId>c</OrgnlEndToEndId><TxSts>ACCP</TxSts>
<OrgnlTxRef><Amt><InstdAmt Ccy="eur">12,50</InstdAmt></Amt></OrgnlTxRef></TxInfAndSts>
<TxInfAndSts><OrgnlEndToEndId>0123456789012345678901234567890123456789</OrgnlEndToEndId>
<TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>TOOLONG</Cd></Rsn></StsRsnInf></TxInfAndSts>
</OrgnlPmtInfAndSts>)");
  Rejection e = refused(xml);
  EXPECT_EQ(e.code, Code::bad_request);
  const std::string p = "pain.002.001.03: /Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[1]/";
  EXPECT_EQ(e.message,
            p +
                "TxInfAndSts[1]/TxSts (line 7): \"DONE\" is not a transaction status (ACCP, ACSC, "
                "ACSP, ACTC, ACWC, PDNG, RJCT)\n" +
                p +
                "TxInfAndSts[2] (line 8): no OrgnlEndToEndId: the transaction cannot be matched "
                "to a payout\n" +
                p +
                "TxInfAndSts[3]/OrgnlTxRef/Amt/InstdAmt (line 10): currency \"eur\" is not "
                "[A-Z]{3}\n" +
                p +
                "TxInfAndSts[4]/OrgnlEndToEndId (line 11): \"0123456789012345678901234567890"
                "123456789\" is not an id of 1..35 characters\n" +
                p +
                "TxInfAndSts[4]/StsRsnInf[1]/Rsn/Cd (line 12): \"TOOLONG\" is not a reason "
                "code of 1..4 characters");
}

TEST(BankReportPain002Test, StructuralProblems) {
  // No status anywhere.
  EXPECT_THAT(refused(pain002("<OrgnlGrpInfAndSts><OrgnlMsgId>r</OrgnlMsgId><OrgnlMsgNmId>x"
                              "</OrgnlMsgNmId></OrgnlGrpInfAndSts>"))
                  .message,
              HasSubstr("OrgnlGrpInfAndSts (line 4): the report states no status"));
  // A missing element, a repeated one, an amount with a bad form.
  Rejection e = refused(pain002(
      "<OrgnlGrpInfAndSts><OrgnlMsgNmId>x</OrgnlMsgNmId><GrpSts>ACCP</GrpSts><GrpSts>RJCT</GrpSts>"
      "</OrgnlGrpInfAndSts>"));
  EXPECT_EQ(e.message,
            "pain.002.001.03: /Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts (line 4): missing "
            "OrgnlMsgId\n"
            "pain.002.001.03: /Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts/GrpSts (line 4): a "
            "second GrpSts (at most one is allowed)");
  for (std::string_view amount : {"-1.00", "1.000001", "1e3", "", ".5", "5.", "1 000"}) {
    std::string xml = pain002(
        "<OrgnlGrpInfAndSts><OrgnlMsgId>r</OrgnlMsgId><OrgnlMsgNmId>x</OrgnlMsgNmId>"
        "</OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>p</OrgnlPmtInfId>"
        "<TxInfAndSts><OrgnlEndToEndId>a</OrgnlEndToEndId><TxSts>ACCP</TxSts><OrgnlTxRef><Amt>"
        "<InstdAmt Ccy=\"EUR\">" +
        std::string(amount) + "</InstdAmt></Amt></OrgnlTxRef></TxInfAndSts></OrgnlPmtInfAndSts>");
    EXPECT_THAT(refused(xml).message, HasSubstr("is not an amount")) << amount;
  }
}

// --- camt.054 --------------------------------------------------------------------------------

TEST(BankReportCamt054Test, BookedDebitsAndAReturn) {
  BankReport r = parsed(fixture("camt054_paid_and_returned.xml"));
  EXPECT_EQ(r.format, ReportFormat::camt054);
  EXPECT_EQ(r.message_id, "NTF-20260107-17");
  EXPECT_EQ(r.created_at, "2026-01-07T18:00:00Z");
  const std::string entry = "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[";
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[0],
            (BankReportLine{entry + "1]/NtryDtls[1]/TxDtls[1]", 45, ReferenceKind::end_to_end_id,
                            "po-1", "BOOK-0001", ReportOutcome::paid, "", "",
                            ReportAmount{"EUR", "120.50"}, day(2026, 1, 5)}));
  EXPECT_EQ(r.lines[1],
            (BankReportLine{entry + "1]/NtryDtls[1]/TxDtls[2]", 56, ReferenceKind::end_to_end_id,
                            "po-2", "BOOK-0001-2", ReportOutcome::paid, "", "",
                            ReportAmount{"EUR", "0.99"}, day(2026, 1, 5)}));
  // The return: a credit with RtrInf, matched by the original EndToEndId; its amount is the
  // entry's (one transaction, no AmtDtls).
  EXPECT_EQ(r.lines[2],
            (BankReportLine{entry + "2]/NtryDtls[1]/TxDtls[1]", 87, ReferenceKind::end_to_end_id,
                            "po-2", "BOOK-0002", ReportOutcome::returned, "AC04", "Closed account",
                            ReportAmount{"EUR", "0.99"}, day(2026, 1, 7)}));
  ASSERT_EQ(r.ignored.size(), 2u);
  EXPECT_EQ(r.ignored[0], entry +
                              "3]/NtryDtls[1]/TxDtls[1] (line 113): a credit that is not a "
                              "return (no RtrInf)");
  EXPECT_EQ(r.ignored[1], entry + "4] (line 120): an entry without transaction details");
}

TEST(BankReportCamt054Test, PendingReversalAndInformationEntries) {
  auto doc = [](std::string_view entries) {
    return std::string(
               "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.02\">"
               "<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>N</MsgId><CreDtTm>2026-01-07T00:00:00"
               "</CreDtTm></GrpHdr><Ntfctn><Id>1</Id>") +
           std::string(entries) + "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>";
  };
  auto entry = [](std::string_view cd, std::string_view sts, std::string_view extra,
                  std::string_view tx) {
    return "<Ntry><Amt Ccy=\"USD\">10.00</Amt><CdtDbtInd>" + std::string(cd) + "</CdtDbtInd>" +
           std::string(extra) + "<Sts>" + std::string(sts) +
           "</Sts><BkTxCd/><NtryDtls><TxDtls><Refs><EndToEndId>e</EndToEndId></Refs>" +
           std::string(tx) + "</TxDtls></NtryDtls></Ntry>";
  };
  BankReport r =
      parsed(doc(entry("DBIT", "PDNG", "", "") + entry("DBIT", "INFO", "", "") +
                 entry("CRDT", "BOOK", "<RvslInd>true</RvslInd>", "") +
                 entry("DBIT", "BOOK", "", "<RtrInf><Rsn><Cd>AC01</Cd></Rsn></RtrInf>") +
                 entry("CRDT", "PDNG", "", "<RtrInf><Rsn><Prtry>BANK-77</Prtry></Rsn></RtrInf>")));
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0].outcome, ReportOutcome::pending);
  EXPECT_EQ(r.lines[0].amount, (ReportAmount{"USD", "10.00"}));
  EXPECT_EQ(r.lines[1].outcome, ReportOutcome::pending);
  EXPECT_EQ(r.lines[1].reason, "BANK-77");
  ASSERT_EQ(r.ignored.size(), 3u);
  EXPECT_THAT(r.ignored[0], HasSubstr("Ntry[2]/NtryDtls[1]/TxDtls[1] (line 1): status INFO"));
  EXPECT_THAT(r.ignored[1], HasSubstr("Ntry[3]/NtryDtls[1]/TxDtls[1] (line 1): a reversal"));
  EXPECT_THAT(r.ignored[2], HasSubstr("Ntry[4]/NtryDtls[1]/TxDtls[1] (line 1): a debit with "
                                      "RtrInf"));
  // Bad codes are problems, not guesses.
  Rejection e = refused(doc(entry("DEBIT", "BOOKED", "<RvslInd>yes</RvslInd>", "")));
  EXPECT_THAT(e.message, HasSubstr("CdtDbtInd (line 1): \"DEBIT\" is not CRDT or DBIT"));
  EXPECT_THAT(e.message, HasSubstr("Sts (line 1): \"BOOKED\" is not an entry status"));
  EXPECT_THAT(e.message, HasSubstr("RvslInd (line 1): \"yes\" is not a boolean"));
  EXPECT_TRUE(parse_bank_report(doc("")).ok());  // a notification without entries
  EXPECT_THAT(refused("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.02\">"
                      "<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>N</MsgId><CreDtTm>x</CreDtTm>"
                      "</GrpHdr></BkToCstmrDbtCdtNtfctn></Document>")
                  .message,
              HasSubstr("/Document/BkToCstmrDbtCdtNtfctn (line 1): missing Ntfctn"));
}

// --- NACHA returns ---------------------------------------------------------------------------

TEST(BankReportNachaTest, ReturnsR01AndR03) {
  BankReport r = parsed(fixture("nacha_return_r01_r03.ach"));
  EXPECT_EQ(r.format, ReportFormat::nacha_return);
  EXPECT_EQ(r.message_id, "091000019-2601081200A");
  EXPECT_EQ(r.created_at, "2026-01-08T12:00");
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0],
            (BankReportLine{"record 3", 3, ReferenceKind::trace_number, "021000020000002",
                            "011000010000001", ReportOutcome::returned, "R03",
                            "NO ACCOUNT/UNABLE TO LOCATE ACCOUNT", ReportAmount{"USD", "1250.00"},
                            day(2026, 1, 8)}));
  EXPECT_EQ(r.lines[1],
            (BankReportLine{"record 7", 7, ReferenceKind::trace_number, "021000020000003",
                            "121000240000001", ReportOutcome::returned, "R01", "INSUFFICIENT FUNDS",
                            ReportAmount{"USD", "0.01"}, day(2026, 1, 8)}));
  ASSERT_EQ(r.ignored.size(), 1u);
  EXPECT_EQ(r.ignored[0],
            "line 11: notification of change C01 (corrected data \"987654322\") for trace "
            "021000020000001: not a payout outcome; update the payee's bank details");
}

TEST(BankReportNachaTest, ReturnsNameTheTracesTallySent) {
  // The fixture returns two of the credits of ach_test's example file: the same credits, sent
  // again here, get the trace numbers the returns name.
  const CurrencyTable currencies;
  Currency usd = *currencies.find("USD");
  NachaFileInfo info{"091000019",     "Wells Fargo",   "1234567890", "Shop Inc",
                     "Shop Inc",      "1234567890",    "021000021",  "Payout",
                     day(2026, 1, 6), day(2026, 1, 5), "0630",       'A'};
  std::vector<NachaCredit> credits = {
      {"po-3", usd, Amount::from_minor(1), "Zoe", "121000248", "0000123", AchAccountType::savings,
       AchReceiverKind::individual, std::nullopt},
      {"po-1", usd, Amount::from_minor(125000), "Jose", "011000015", "12345678",
       AchAccountType::checking, AchReceiverKind::individual, std::nullopt},
      {"po-2", usd, Amount::from_minor(9999), "Acme", "026009593", "987654321",
       AchAccountType::checking, AchReceiverKind::company, std::nullopt}};
  Result<NachaFile> sent = payout_nacha(info, credits);
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  BankReport r = parsed(fixture("nacha_return_r01_r03.ach"));
  std::vector<std::string> matched;
  for (const BankReportLine& l : r.lines)
    for (const NachaTrace& t : sent->traces)
      if (t.trace_number == l.reference) matched.push_back(t.payout_id + " " + l.reason);
  EXPECT_EQ(matched, (std::vector<std::string>{"po-1 R03", "po-3 R01"}));
}

TEST(BankReportNachaTest, LineEndingsAndUnbrokenFiles) {
  std::string text = fixture("nacha_return_r01_r03.ach");
  BankReport want = parsed(text);
  std::string crlf, unbroken;
  for (char c : text) {
    if (c == '\n') crlf += '\r';
    crlf += c;
    if (c != '\n') unbroken += c;
  }
  EXPECT_EQ(parsed(crlf).lines, want.lines);
  BankReport u = parsed(unbroken);
  EXPECT_EQ(u.lines, want.lines);
  // Blank lines at the end are not records; one in the middle is.
  EXPECT_EQ(parsed(text + "\n\r\n").lines, want.lines);
  std::string blank = text;
  blank.insert(95, "\n");
  EXPECT_EQ(refused(blank).message, "nacha: line 2: 0 characters; a NACHA record has 94");
  // Without the padding (a file that stops after its file control) is fine too.
  EXPECT_EQ(parsed(text.substr(0, 14 * 95)).lines, want.lines);
}

TEST(BankReportNachaTest, MalformedFilesSayWhere) {
  std::string text = fixture("nacha_return_r01_r03.ach");
  // A record of 93 characters.
  std::string short_record = text;
  short_record.erase(2 * 95 + 50, 1);
  Rejection e = refused(short_record);
  EXPECT_EQ(e.code, Code::bad_request);
  EXPECT_EQ(e.message, "nacha: line 3: 93 characters; a NACHA record has 94");
  // A batch control whose total is off, and a file control whose entry hash is off.
  std::string bad_totals = text;
  replace(bad_totals, "000000000000000000125000", "000000000000000000125100");
  replace(bad_totals, "0006300006", "0006300007");
  e = refused(bad_totals);
  EXPECT_EQ(e.message,
            "nacha: line 5: total credit (positions 33-44) says 125100, the records add up to "
            "125000\n"
            "nacha: line 14: entry hash (positions 22-31) says 6300007, the records add up to "
            "6300006");
  // A return whose addenda names another trace, a reason code of the wrong form.
  std::string bad_addenda = text;
  replace(bad_addenda, "799R03", "799X03");
  replace(bad_addenda, "UNABLE TO LOCATE ACCOUNT         011000010000001",
          "UNABLE TO LOCATE ACCOUNT         011000010000009");
  e = refused(bad_addenda);
  EXPECT_EQ(e.message,
            "nacha: line 4: trace number (positions 80-94) \"011000010000009\" differs from its "
            "entry's \"011000010000001\" (line 3)\n"
            "nacha: line 4: return reason code (positions 4-6) \"X03\" is not R and two digits");
  // Structure: an entry outside a batch, a missing file control, a routing check digit.
  std::string no_control = text.substr(0, 13 * 95);
  EXPECT_EQ(refused(no_control).message,
            "nacha: line 13: the file ends where a batch header (5) or the file control (9) is "
            "expected");
  std::string stray = text;
  stray.replace(4 * 95, 1, "6");  // the batch control becomes an entry
  EXPECT_THAT(refused(stray).message, HasSubstr("nacha: line 5: "));
  std::string check_digit = text;
  replace(check_digit, "62102100002112345678", "62102100002212345678");
  EXPECT_THAT(refused(check_digit).message,
              HasSubstr("nacha: line 3: receiving DFI and check digit (positions 4-12) "
                        "\"021000022\" fail the routing number check"));
  // Something after the padding starts, and too many padding records.
  std::string after = text + "1" + std::string(93, ' ') + "\n";
  EXPECT_THAT(refused(after).message,
              HasSubstr("line 21: after the file control only records of 94 '9's may follow"));
  std::string extra = text + std::string(94, '9') + "\n";
  EXPECT_THAT(refused(extra).message,
              HasSubstr("line 21: 21 records, more than the 2 blocks of 10 the file control "
                        "counts"));
}

TEST(BankReportNachaTest, EntriesThatAreNotReturns) {
  // tally's own credit file is not a return file: its entries have no addenda.
  const CurrencyTable currencies;
  NachaFileInfo info{"091000019",
                     "B",
                     "1234567890",
                     "O",
                     "C",
                     "1234567890",
                     "021000021",
                     "PAYOUT",
                     day(2026, 1, 6),
                     day(2026, 1, 5),
                     "0630",
                     'A'};
  std::vector<NachaCredit> one = {{"a", *currencies.find("USD"), Amount::from_minor(5), "N",
                                   "011000015", "1", AchAccountType::checking,
                                   AchReceiverKind::individual, std::nullopt}};
  Result<NachaFile> f = payout_nacha(info, one);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(refused(f->text).message,
            "nacha: line 3: an entry without an addenda record: a return carries an addenda 99");
}

// --- Detection and hostile input -------------------------------------------------------------

TEST(BankReportTest, MalformedXmlSaysWhere) {
  std::string xml = fixture("pain002_one_rejected.xml");
  Rejection e = refused(xml.substr(0, xml.size() / 2));
  EXPECT_EQ(e.code, Code::bad_request);
  EXPECT_THAT(e.message, StartsWith("bank report: line "));
  EXPECT_THAT(e.message, HasSubstr("not well-formed XML"));

  std::string other_ns = xml;
  replace(other_ns, "pain.002.001.03\"", "pain.002.001.10\"");
  EXPECT_EQ(refused(other_ns).message,
            "bank report: /Document (line 3): <Document> in namespace "
            "\"urn:iso:std:iso:20022:tech:xsd:pain.002.001.10\"; tally reads <Document> of "
            "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03 or "
            "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02");
  EXPECT_THAT(refused("<Document><CstmrPmtStsRpt/></Document>").message,
              HasSubstr("<Document> in namespace \"\""));
  EXPECT_THAT(
      refused("<?xml version=\"1.0\"?><Root xmlns=\"" + std::string(kPainNs) + "\"/>").message,
      HasSubstr("<Root> in namespace"));
  // Elements of another namespace are not ours: here the report's body is missing.
  EXPECT_THAT(refused("<Document xmlns=\"" + std::string(kPainNs) +
                      "\"><x:CstmrPmtStsRpt xmlns:x=\"urn:other\"/></Document>")
                  .message,
              HasSubstr("/Document (line 1): missing CstmrPmtStsRpt"));
  // An undeclared prefix is a namespace error.
  EXPECT_THAT(refused("<Document xmlns=\"" + std::string(kPainNs) + "\"><y:A/></Document>").message,
              HasSubstr("not well-formed XML"));
}

TEST(BankReportTest, DoctypesAndEntitiesAreRefused) {
  std::string laughs =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE Document [\n<!ENTITY a \"aaaaaaaaaa\">\n"
      "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n<!ENTITY c "
      "\"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
      "]>\n<Document xmlns=\"" +
      std::string(kPainNs) + "\"><CstmrPmtStsRpt>&c;</CstmrPmtStsRpt></Document>";
  EXPECT_EQ(refused(laughs).message,
            "bank report: line 2: a DOCTYPE is not allowed in a bank report");
  std::string external =
      "<?xml version=\"1.0\"?><!DOCTYPE Document SYSTEM "
      "\"http://example.invalid/evil.dtd\"><Document xmlns=\"" +
      std::string(kPainNs) + "\"/>";
  EXPECT_THAT(refused(external).message, HasSubstr("a DOCTYPE is not allowed"));
  std::string xxe =
      "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
      "<Document xmlns=\"" +
      std::string(kPainNs) + "\">&x;</Document>";
  EXPECT_THAT(refused(xxe).message, HasSubstr("a DOCTYPE is not allowed"));
  // Without a DOCTYPE an entity reference is simply undefined.
  EXPECT_THAT(refused("<Document xmlns=\"" + std::string(kPainNs) + "\">&x;</Document>").message,
              HasSubstr("not well-formed XML"));
}

TEST(BankReportTest, DetectionAndLimits) {
  EXPECT_EQ(refused("").message, "bank report: the file is empty");
  EXPECT_EQ(refused("hello").message,
            "bank report: line 1: neither XML (ISO 20022 pain.002 / camt.054) nor a NACHA file "
            "(a file header record: '1', record size 094)");
  // A byte order mark and white space before the XML are fine.
  BankReport r = parsed("\xEF\xBB\xBF" + fixture("pain002_accepted.xml"));
  EXPECT_EQ(r.format, ReportFormat::pain002);
  std::string no_declaration = fixture("pain002_accepted.xml");
  no_declaration.erase(0, no_declaration.find("\n") + 1);
  EXPECT_EQ(parsed("\n  " + no_declaration).lines, r.lines);
  // An XML declaration must come first.
  EXPECT_THAT(refused("\n" + fixture("pain002_accepted.xml")).message,
              HasSubstr("line 2: not well-formed XML: XML declaration allowed only at the start"));
  // Too large: refused unread.
  std::string big(bank_report_bytes_max + 1, ' ');
  EXPECT_THAT(refused(big).message, HasSubstr("more than the 32 MiB a report may have"));
  // Deep nesting stops at libxml2's depth limit.
  std::string deep = "<Document xmlns=\"" + std::string(kPainNs) + "\">";
  for (int i = 0; i < 5000; ++i) deep += "<a>";
  EXPECT_EQ(refused(deep).code, Code::bad_request);
}

// Mutated and truncated reports: every outcome is a report or a bad_request, never a crash.
// (Not labelled `long`: its short form runs always; TALLY_LONG=1 only adds rounds.)
TEST(BankReportTest, HostileMutationsNeverCrash) {
  std::mt19937 rng(20260108);
  const char bytes[] = {'<', '>',  '/',  '&',    '"', '\'', '9', '0', '1',
                        ' ', '\n', '\0', '\xff', 'R', 'A',  '-', ':', '='};
  for (const char* name : {"pain002_one_rejected.xml", "camt054_paid_and_returned.xml",
                           "pain002_group_rejected.xml", "nacha_return_r01_r03.ach"}) {
    std::string original = fixture(name);
    for (size_t cut = 0; cut < original.size(); cut += 7) {
      Result<BankReport> r = parse_bank_report(std::string_view(original).substr(0, cut));
      if (!r.ok()) {
        EXPECT_EQ(r.error().code, Code::bad_request) << name << " cut " << cut;
      }
    }
    // TALLY_LONG=1: 50,000 mutants per sample (run it under scripts/build asan).
    const int rounds = testing::long_form() ? 50'000 : 1'500;
    for (int round = 0; round < rounds; ++round) {
      std::string s = original;
      int edits = 1 + int(rng() % 4);
      for (int k = 0; k < edits; ++k) {
        size_t at = rng() % s.size();
        switch (rng() % 3) {
          case 0:
            s[at] = bytes[rng() % sizeof bytes];
            break;
          case 1:
            s.erase(at, 1 + rng() % 8);
            break;
          default:
            s.insert(at, 1, bytes[rng() % sizeof bytes]);
        }
        if (s.empty()) s = "x";
      }
      Result<BankReport> r = parse_bank_report(s);
      if (!r.ok()) {
        EXPECT_EQ(r.error().code, Code::bad_request) << name << " round " << round;
        EXPECT_FALSE(r.error().message.empty());
      }
    }
  }
}

}  // namespace
}  // namespace tally
