// Conversions of the marketplace layer's reads (service/market_reads.h) to and from the wire
// types of rpc/tally.capnp (MarketplaceInfo, PayeeInfo, AccountPage, RunList). As rpc/wire.h:
// encoding never fails; decoding what a peer sent is a Rejection naming the field, never an
// assertion.
//
// Thread safety: pure functions over builders and readers the caller owns.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rpc/wire.h"
#include "service/market_reads.h"

namespace tally::wire {

void encode(MarketplaceInfo::Builder b, const tally::MarketplaceResult& v);
Result<tally::MarketplaceResult> decode(MarketplaceInfo::Reader r);
void encode(PayeeInfo::Builder b, const tally::PayeeResult& v);
Result<tally::PayeeResult> decode(PayeeInfo::Reader r);
void encode(AccountPage::Builder b, const tally::AccountsPage& v);
Result<tally::AccountsPage> decode(AccountPage::Reader r);
void encode(RunList::Builder b, const std::optional<std::string>& marketplace,
            const std::vector<tally::RunSummary>& runs);
Result<std::vector<tally::RunSummary>> decode(RunList::Reader r);

}  // namespace tally::wire
