#pragma once

#include "attentionresult.h"

#include <QFutureWatcher>
#include <QObject>

#include <atomic>
#include <memory>
#include <vector>

namespace studio {

// Attention flow of one result, computed on request on a worker (it is expensive: its cost grows
// with T⁴·L²), with its progress; a new result cancels it. Flow beyond kFlowCostLimit is refused
// with the estimate, so the window never starts work it cannot finish in a few seconds.
class FlowJob : public QObject {
    Q_OBJECT
public:
    enum class State { Idle, TooLarge, Running, Ready };
    explicit FlowJob(QObject *parent = nullptr);
    ~FlowJob() override;

    // Forgets the flow of the previous result (cancelling its work) and waits for a request.
    void reset(SharedResult result);
    // Starts the flow of the current result, unless it is running, ready or too large.
    void request();
    void cancel();

    State state() const { return m_state; }
    std::shared_ptr<const std::vector<Matrix>> flow() const { return m_flow; }
    double progress() const { return m_progress; } // 0..1 while running
    double estimatedSeconds() const;
    // What the view says in place of the figure: running (with progress and the estimate), too
    // large (with the estimate and the limit), or nothing.
    QString statusText() const;

Q_SIGNALS:
    void changed();

private:
    SharedResult m_result;
    State m_state = State::Idle;
    std::shared_ptr<const std::vector<Matrix>> m_flow;
    std::shared_ptr<std::atomic<bool>> m_cancel;
    quint64 m_generation = 0;
    double m_progress = 0;
    QFutureWatcher<std::vector<Matrix>> m_progressWatcher;
};

} // namespace studio
