#include "notify/notifier.hpp"

#include <deque>
#include <random>
#include <stdexcept>
#include <utility>

#include <boost/asio/steady_timer.hpp>

#include "config/secrets.hpp"
#include "log/escape.hpp"
#include "notify/coalescer.hpp"
#include "log/log.hpp"

namespace deployguard::notify {

std::vector<SinkSettings> load_sinks(const std::vector<NotifyConfig>& config) {
  std::vector<SinkSettings> out;
  for (std::size_t i = 0; i < config.size(); ++i) {
    const auto& sink = config[i];
    const std::string where = "notify[" + std::to_string(i) + "]";
    SinkSettings settings;
    settings.name = sink.name;
    const auto format = parse_format(sink.format);
    if (!format) throw std::runtime_error(where + ".format: unknown format");
    settings.format = *format;
    for (const auto& name : sink.events) {
      const auto category = parse_category(name);
      if (!category) throw std::runtime_error(where + ".events: unknown event " + name);
      settings.events.insert(*category);
    }
    if (sink.events.empty()) settings.events.insert(std::begin(kAllCategories), std::end(kAllCategories));
    settings.environments.insert(sink.environments.begin(), sink.environments.end());
    settings.min_interval_between = sink.min_interval_between;

    std::string error;
    auto url = config::read_secret_file(sink.url_file, error);
    if (!url) throw std::runtime_error(where + ".url_file: " + error);
    // The first line only; surrounding blanks are an editor's, not the URL's.
    if (const auto nl = url->find_first_of("\r\n"); nl != std::string::npos) url->resize(nl);
    while (!url->empty() && (url->back() == ' ' || url->back() == '\t')) url->pop_back();
    while (!url->empty() && (url->front() == ' ' || url->front() == '\t')) url->erase(0, 1);
    const auto origin = http::origin_of(*url);
    if (!origin)
      throw std::runtime_error(where + ".url_file: the file does not hold an http:// or https:// "
                               "URL (its content is not shown: it may be a credential)");
    settings.url = std::move(*url);
    settings.origin = *origin;
    if (sink.secret_file) {
      auto secret = config::read_secret_file(*sink.secret_file, error);
      if (!secret) throw std::runtime_error(where + ".secret_file: " + error);
      settings.secret = std::move(*secret);
    }
    out.push_back(std::move(settings));
  }
  return out;
}

namespace {

struct Outgoing {
  std::string body;
  std::string environment;
  Category category = Category::Verdict;
  std::size_t changes = 1;
  int attempts = 0;
};

}  // namespace

class Notifier::Sink : public std::enable_shared_from_this<Notifier::Sink> {
 public:
  Sink(boost::asio::any_io_executor executor, http::HttpClient& http, const Clock& clock,
       const NotifierOptions& options, SinkSettings settings, std::shared_ptr<Counters> counters,
       std::shared_ptr<spdlog::logger> log)
      : http_(http),
        clock_(clock),
        options_(options),
        settings_(std::move(settings)),
        coalescer_(settings_.min_interval_between),
        counters_(std::move(counters)),
        window_timer_(executor),
        retry_timer_(std::move(executor)),
        log_(std::move(log)) {}

  const SinkSettings& settings() const { return settings_; }

  bool wants(Category category, const std::string& environment) const {
    return settings_.events.count(category) != 0 &&
           (settings_.environments.empty() || settings_.environments.count(environment) != 0);
  }

  void offer(Notification n) {
    if (stopped_) return;
    if (auto now = coalescer_.offer(std::move(n), clock_.now())) enqueue(*now);
    arm_window_timer();
  }

  /// Drops everything pending and ignores what is still in flight.
  void stop(std::string_view why) {
    if (stopped_) return;
    stopped_ = true;
    window_timer_.cancel();
    retry_timer_.cancel();
    const std::size_t dropped = queue_.size() + (current_ ? 1 : 0) + coalescer_.clear();
    queue_.clear();
    current_.reset();
    counters_->dropped += dropped;
    if (dropped > 0)
      log_->warn("event=notifications_dropped sink={} count={} reason={}", settings_.name,
                 dropped, why);
  }

  std::size_t queued() const { return queue_.size() + (current_ ? 1 : 0) + coalescer_.held(); }

 private:
  void enqueue(const Notification& n) {
    if (queue_.size() >= options_.queue_limit) {
      const auto& oldest = queue_.front();
      ++counters_->dropped;
      log_->warn("event=notification_dropped sink={} env={} category={} reason=queue_full "
                 "limit={}",
                 settings_.name, logging::escape(oldest.environment), to_string(oldest.category),
                 options_.queue_limit);
      queue_.pop_front();
    }
    queue_.push_back(Outgoing{render(settings_.format, n), n.environment, n.category, n.changes, 0});
    pump();
  }

  void pump() {
    if (stopped_ || current_ || queue_.empty()) return;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    post();
  }

  void post() {
    ++current_->attempts;
    http::HttpRequest request;
    request.method = "POST";
    request.url = settings_.url;
    request.headers.push_back({"Content-Type", "application/json; charset=utf-8"});
    if (settings_.secret)
      request.headers.push_back({"X-Deployguard-Signature", signature(*settings_.secret, current_->body)});
    request.body = current_->body;
    request.timeout = options_.request_timeout;
    request.follow_redirects = false;  // a webhook that moves is a configuration to fix
    request.max_response_bytes = options_.max_response_bytes;
    http_.send(std::move(request), [weak = weak_from_this()](http::HttpResult result) {
      if (auto self = weak.lock()) self->on_result(std::move(result));
    });
  }

  void on_result(http::HttpResult result) {
    if (stopped_ || !current_) return;
    const double jitter = options_.jitter ? options_.jitter() : 0.5;
    const auto verdict =
        judge_attempt(result, current_->attempts, options_.retry, clock_.now(), jitter);
    switch (verdict.outcome) {
      case AttemptOutcome::Sent:
        ++counters_->sent;
        log_->info("event=notification_sent sink={} origin={} env={} category={} changes={} "
                   "attempts={} {}",
                   settings_.name, settings_.origin.to_string(), logging::escape(current_->environment),
                   to_string(current_->category), current_->changes, current_->attempts, verdict.why);
        break;
      case AttemptOutcome::Retry:
        ++counters_->retried;
        log_->warn("event=notification_retry sink={} origin={} env={} category={} attempt={} "
                   "wait={} {}",
                   settings_.name, settings_.origin.to_string(), logging::escape(current_->environment),
                   to_string(current_->category), current_->attempts, format_duration(verdict.wait),
                   verdict.why);
        retry_timer_.expires_after(verdict.wait);
        retry_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
          auto self = weak.lock();
          if (ec || !self || self->stopped_ || !self->current_) return;
          self->post();
        });
        return;
      case AttemptOutcome::Failed:
        ++counters_->failed;
        log_->error("event=notification_failed sink={} origin={} env={} category={} attempts={} {}",
                    settings_.name, settings_.origin.to_string(),
                    logging::escape(current_->environment), to_string(current_->category),
                    current_->attempts, verdict.why);
        break;
    }
    current_.reset();
    pump();
  }

  void arm_window_timer() {
    const auto due = coalescer_.next_due();
    if (!due || stopped_) return;
    if (window_armed_ && *due >= window_due_) return;  // the armed wait comes first anyway
    window_armed_ = true;
    window_due_ = *due;
    const auto wait = std::max(Duration{0}, *due - clock_.now());
    window_timer_.expires_after(wait);
    window_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->stopped_) return;
      self->window_armed_ = false;
      for (auto& n : self->coalescer_.due(self->clock_.now())) self->enqueue(n);
      self->arm_window_timer();
    });
  }

  http::HttpClient& http_;
  const Clock& clock_;
  const NotifierOptions& options_;
  SinkSettings settings_;
  Coalescer coalescer_;
  std::shared_ptr<Counters> counters_;
  std::deque<Outgoing> queue_;
  std::optional<Outgoing> current_;  // the post in flight or waiting for its retry
  boost::asio::steady_timer window_timer_;
  boost::asio::steady_timer retry_timer_;
  bool window_armed_ = false;
  TimePoint window_due_{};
  bool stopped_ = false;
  std::shared_ptr<spdlog::logger> log_;
};

Notifier::Notifier(boost::asio::any_io_executor executor, http::HttpClient& http,
                   const Clock& clock, DecisionSource decisions, NotifierOptions options)
    : executor_(std::move(executor)),
      http_(http),
      clock_(clock),
      decisions_(std::move(decisions)),
      options_(std::move(options)),
      log_(logging::subsystem_logger("notify")) {
  if (!options_.jitter) {
    options_.jitter = [rng = std::make_shared<std::minstd_rand>(std::random_device{}())] {
      return std::uniform_real_distribution<double>(0.0, 1.0)(*rng);
    };
  }
}

Notifier::~Notifier() {
  for (auto& sink : sinks_) sink->stop("shutdown");
}

void Notifier::configure(std::vector<SinkSettings> sinks) {
  if (stopped_) return;
  std::vector<std::shared_ptr<Sink>> next;
  for (auto& settings : sinks) {
    std::shared_ptr<Sink> kept;
    for (auto& old : sinks_)
      if (old && old->settings() == settings) kept = std::move(old);
    if (kept) {
      next.push_back(std::move(kept));
      continue;
    }
    auto& counters = counters_[settings.name];
    if (!counters) counters = std::make_shared<Counters>();
    log_->info("event=notify_sink_configured sink={} format={} origin={} signed={}",
               settings.name, to_string(settings.format), settings.origin.to_string(),
               settings.secret.has_value());
    next.push_back(std::make_shared<Sink>(executor_, http_, clock_, options_, std::move(settings),
                                          counters, log_));
  }
  for (auto& old : sinks_)
    if (old) old->stop("reconfigured");
  sinks_ = std::move(next);
}

void Notifier::observe(const state::AuditRecord& record) {
  if (stopped_ || sinks_.empty()) return;
  const auto categories = categories_of(record);
  if (categories.empty()) return;
  nlohmann::json decision = nullptr;
  if (decisions_)
    if (auto current = decisions_(record.environment)) decision = decision_json(*current);
  for (const Category category : categories) {
    const Notification n = from_audit(record, category, decision);
    for (auto& sink : sinks_)
      if (sink->wants(category, record.environment)) sink->offer(n);
  }
}

void Notifier::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& sink : sinks_) sink->stop("shutdown");
}

std::map<std::string, SinkStats> Notifier::stats() const {
  std::map<std::string, SinkStats> out;
  for (const auto& [name, counters] : counters_)
    out[name] = SinkStats{counters->sent, counters->retried, counters->dropped, counters->failed, 0};
  for (const auto& sink : sinks_) out[sink->settings().name].queued = sink->queued();
  return out;
}

}  // namespace deployguard::notify
