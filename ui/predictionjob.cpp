#include "predictionjob.h"

#include "offthread.h"

namespace studio {

namespace {
// Logits kept per result: a few positions' worth (each vocabulary × 4 bytes).
constexpr int kKeptPositions = 16;
} // namespace

PredictionJob::PredictionJob(QObject *parent) : QObject(parent) {}

void PredictionJob::reset(SharedResult result, std::shared_ptr<const Checkpoint> checkpoint)
{
    ++m_generation;
    m_result = std::move(result);
    m_checkpoint = std::move(checkpoint);
    m_logits.clear();
    m_pending.clear();
    Q_EMIT changed();
}

bool PredictionJob::available() const
{
    return m_result && m_checkpoint && m_result->finalHidden && m_result->finalHidden->rows() == m_result->tokenCount()
           && m_result->tokenCount() > 0 && m_checkpoint->model->canPredict();
}

std::shared_ptr<const RowVector> PredictionJob::logits(int position) const
{
    return m_logits.value(position);
}

void PredictionJob::request(int position)
{
    if (!available() || position < 0 || position >= m_result->tokenCount() || m_logits.contains(position) || m_pending.contains(position))
        return;
    if (m_logits.size() >= kKeptPositions)
        m_logits.clear();
    m_pending.insert(position);
    const quint64 generation = m_generation;
    const std::shared_ptr<const Matrix> hidden = m_result->finalHidden;
    const std::shared_ptr<const Checkpoint> checkpoint = m_checkpoint; // keeps the weights mapped
    runOffThread<RowVector>(
        this,
        [hidden, checkpoint, position](QPromise<RowVector> &promise) {
            promise.addResult(checkpoint->model->logits(hidden->row(position)));
        },
        [this, generation, position](QFuture<RowVector> finished) {
            if (generation != m_generation || finished.resultCount() == 0)
                return;
            m_pending.remove(position);
            m_logits.insert(position, std::make_shared<const RowVector>(finished.result()));
            Q_EMIT changed();
        });
}

} // namespace studio
