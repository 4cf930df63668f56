#include "flowjob.h"

#include "attentionflow.h"
#include "offthread.h"


#include <optional>

namespace studio {

FlowJob::FlowJob(QObject *parent) : QObject(parent)
{
    // Progress arrives on this thread through the watcher of the current run's future.
    connect(&m_progressWatcher, &QFutureWatcherBase::progressValueChanged, this, [this](int done) {
        const int total = m_progressWatcher.progressMaximum();
        if (m_state != State::Running || total <= 0)
            return;
        const double progress = double(done) / total;
        if (int(progress * 100) != int(m_progress * 100)) {
            m_progress = progress;
            Q_EMIT changed();
        }
    });
}

FlowJob::~FlowJob()
{
    cancel();
}

void FlowJob::reset(SharedResult result)
{
    cancel();
    m_result = std::move(result);
    m_flow.reset();
    m_progress = 0;
    m_state = m_result && m_result->tokenCount() > 0 && attentionFlowCost(m_result->layers, m_result->tokenCount()) > kFlowCostLimit
                  ? State::TooLarge
                  : State::Idle;
    Q_EMIT changed();
}

double FlowJob::estimatedSeconds() const
{
    return m_result ? attentionFlowCost(m_result->layers, m_result->tokenCount()) * kFlowSecondsPerUnit : 0.0;
}

void FlowJob::cancel()
{
    if (m_cancel)
        m_cancel->store(true);
    m_cancel.reset();
    ++m_generation;
    if (m_state == State::Running) {
        m_state = State::Idle;
        Q_EMIT changed();
    }
}

void FlowJob::request()
{
    if (m_state != State::Idle || !m_result || m_result->tokenCount() == 0)
        return;
    m_state = State::Running;
    m_progress = 0;
    m_cancel = std::make_shared<std::atomic<bool>>(false);
    const quint64 generation = ++m_generation;
    auto cancelFlag = m_cancel;
    const SharedAttentionMaps maps = m_result->maps;
    const QFuture<std::vector<Matrix>> future = runOffThread<std::vector<Matrix>>(
        this,
        [maps, cancelFlag](QPromise<std::vector<Matrix>> &promise) {
            FlowOptions options;
            options.cancel = cancelFlag.get();
            options.progress = [&promise](int done, int total) {
                promise.setProgressRange(0, total);
                promise.setProgressValue(done);
            };
            if (std::optional<std::vector<Matrix>> flow = attentionFlow(*maps, options))
                promise.addResult(std::move(*flow));
        },
        [this, generation](QFuture<std::vector<Matrix>> finished) {
            if (generation != m_generation || finished.resultCount() == 0)
                return;
            m_flow = std::make_shared<const std::vector<Matrix>>(finished.result());
            m_state = State::Ready;
            m_progress = 1;
            Q_EMIT changed();
        });
    m_progressWatcher.setFuture(future);
    Q_EMIT changed();
}

QString FlowJob::statusText() const
{
    const auto seconds = [](double s) {
        return s < 1 ? tr("under a second") : s < 90 ? tr("about %1 s").arg(s, 0, 'f', 0) : tr("about %1 min").arg(s / 60, 0, 'f', 0);
    };
    switch (m_state) {
    case State::Running:
        return tr("Computing attention flow… %1% (%2 in all for %3 layers × %4 tokens)")
            .arg(int(m_progress * 100)).arg(seconds(estimatedSeconds())).arg(m_result->layers).arg(m_result->tokenCount());
    case State::TooLarge:
        return tr("Attention flow for %1 layers × %2 tokens would take %3 here; the window computes what takes up to %4. "
                  "`attention-studio trace --aggregate flow` computes it for any size.")
            .arg(m_result->layers).arg(m_result->tokenCount()).arg(seconds(estimatedSeconds())).arg(seconds(kFlowCostLimit * kFlowSecondsPerUnit));
    case State::Idle:
    case State::Ready: break;
    }
    return {};
}

} // namespace studio
