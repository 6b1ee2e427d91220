#include "graphnn/optimizers.hpp"

#include <cmath>

#include "graphnn/ops.hpp"

namespace graphnn {

double Schedule::rate(double base, std::size_t epoch) const {
  switch (kind) {
    case Kind::constant: return base;
    case Kind::step_decay: return base * std::pow(factor, static_cast<double>(epoch / (every ? every : 1)));
    case Kind::exponential: return base * std::pow(factor, static_cast<double>(epoch));
  }
  return base;
}

template <class T>
Optimizer<T>::Optimizer(double lr, Schedule schedule, double weight_decay)
    : lr_(lr), schedule_(schedule), weight_decay_(weight_decay) {
  if (!(lr > 0)) throw Error("optimizer: learning rate must be positive, got " + std::to_string(lr));
  if (!(weight_decay >= 0)) throw Error("optimizer: weight decay must be >= 0, got " + std::to_string(weight_decay));
}

template <class T>
Nodes<T> Optimizer<T>::build(const Nodes<T>& params, const Nodes<T>& grads) {
  if (params.size() != grads.size()) throw Error("optimizer: " + std::to_string(params.size()) + " parameters but " +
                                                 std::to_string(grads.size()) + " gradients");
  Nodes<T> updates;
  if (params.empty()) return updates;
  Graph<T>& g = *params[0].graph();
  if (!lr_var_.valid() || !lr_var_.in(g)) {
    prefix_ = "optimizer" + std::to_string(g.size()) + "/";  // unique if built twice
    lr_var_ = g.variable(prefix_ + "lr", xt::xarray<T>(static_cast<T>(lr_)));
    step_var_ = g.variable(prefix_ + "step", xt::xarray<T>(T(0)));
    slots_.clear();
  }
  for (std::size_t i = 0; i < params.size(); ++i) updates.push_back(update(params[i], grads[i]));
  return updates;
}

template <class T>
void Optimizer<T>::prepare(Session<T>& session, std::size_t step, std::size_t epoch) const {
  *session.variable_data(lr_var_) = static_cast<T>(learning_rate(epoch));
  *session.variable_data(step_var_) = static_cast<T>(step);
}

template <class T>
Node<T> Optimizer<T>::slot(const Node<T>& param, const std::string& name) {
  const std::string full = prefix_ + param.name() + "/" + name;
  auto it = slots_.find(full);
  if (it == slots_.end())
    it = slots_.emplace(full, param.graph()->variable(full, xt::zeros<T>(resolve(param.shape(), 0)))).first;
  return it->second;
}

template <class T>
SGD<T>::SGD(double lr, double momentum, bool nesterov, double weight_decay, Schedule schedule)
    : Optimizer<T>(lr, schedule, weight_decay), momentum_(momentum), nesterov_(nesterov) {
  if (!(momentum >= 0 && momentum < 1)) throw Error("SGD: momentum must be in [0, 1), got " + std::to_string(momentum));
  if (nesterov && momentum == 0) throw Error("SGD: Nesterov momentum needs a momentum > 0");
}

template <class T>
Node<T> SGD<T>::update(const Node<T>& param, const Node<T>& grad) {
  const Node<T> velocity = momentum_ > 0 ? this->slot(param, "velocity") : Node<T>();
  return apply_sgd(param, grad, this->lr_node(), velocity, static_cast<T>(momentum_), nesterov_, this->weight_decay());
}

template <class T>
Adam<T>::Adam(double lr, double beta1, double beta2, double epsilon, double weight_decay, Schedule schedule)
    : Optimizer<T>(lr, schedule, weight_decay), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw Error("Adam: betas must be in [0, 1)");
  if (!(epsilon > 0)) throw Error("Adam: epsilon must be positive");
}

template <class T>
Node<T> Adam<T>::update(const Node<T>& param, const Node<T>& grad) {
  return apply_adam(param, grad, this->lr_node(), this->step_node(), this->slot(param, "m"), this->slot(param, "v"),
                    static_cast<T>(beta1_), static_cast<T>(beta2_), static_cast<T>(epsilon_), this->weight_decay());
}

template <class T>
RMSProp<T>::RMSProp(double lr, double rho, double epsilon, double weight_decay, Schedule schedule)
    : Optimizer<T>(lr, schedule, weight_decay), rho_(rho), epsilon_(epsilon) {
  if (!(rho >= 0 && rho < 1)) throw Error("RMSProp: rho must be in [0, 1)");
  if (!(epsilon > 0)) throw Error("RMSProp: epsilon must be positive");
}

template <class T>
Node<T> RMSProp<T>::update(const Node<T>& param, const Node<T>& grad) {
  return apply_rmsprop(param, grad, this->lr_node(), this->slot(param, "mean_square"), static_cast<T>(rho_),
                       static_cast<T>(epsilon_), this->weight_decay());
}

#define INSTANTIATE(T)          \
  template class Optimizer<T>;  \
  template class SGD<T>;        \
  template class Adam<T>;       \
  template class RMSProp<T>;
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace graphnn
