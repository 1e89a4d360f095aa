#pragma once
// Runs a function on the thread that runs an io_context and waits for its result: for tests
// whose server lives on its own io thread and whose assertions must read its state there.
#include <chrono>
#include <future>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

namespace deployguard::testing {

/// Posts `fn` to `io` and returns what it returned. A result that takes longer than 5 s is a
/// test failure (the io thread is stuck or not running).
template <class F>
auto run_on_io(boost::asio::io_context& io, F fn) {
  std::packaged_task<decltype(fn())()> task(std::move(fn));
  auto result = task.get_future();
  boost::asio::post(io, [&task] { task(); });
  EXPECT_EQ(result.wait_for(std::chrono::seconds{5}), std::future_status::ready);
  return result.get();
}

}  // namespace deployguard::testing
